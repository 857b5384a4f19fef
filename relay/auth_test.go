package relay

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/onair-dev/onair/token"
)

// TestTokens: every token case of POST /whip and /whep gets its status and
// a JSON error body; the accepted ones get a 201 with a session.
func TestTokens(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{})
	const ch = "lobby"
	whipOffer := makeOffer(t, kindHost, 1)
	whepOffer := makeOffer(t, kindAudience, 8)

	expired, err := token.Mint([]byte(testSecret), token.Claims{
		Channel: ch, UID: "1", Role: token.RoleHost, IssuedAt: time.Now().Add(-2 * time.Hour),
	}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	otherSecret, err := token.Mint([]byte("another-secret-0123456789abcdef!"), token.Claims{Channel: ch, UID: "1", Role: token.RoleHost}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
		"channel": ch, "uid": "1", "role": "host", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	host := mint(t, ch, "1", token.RoleHost)
	tampered := host[:strings.LastIndexByte(host, '.')+1] + "AAAA" + host[strings.LastIndexByte(host, '.')+5:]

	for _, tc := range []struct {
		name   string
		k      kind
		auth   string // the whole Authorization field
		status int
		code   string
	}{
		{"no token", kindHost, "", 401, codeUnauthorized},
		{"basic auth", kindHost, "Basic dXNlcjpwYXNz", 401, codeUnauthorized},
		{"garbage", kindHost, "Bearer not-a-token", 401, codeUnauthorized},
		{"bad signature", kindHost, "Bearer " + otherSecret, 401, codeUnauthorized},
		{"tampered signature", kindHost, "Bearer " + tampered, 401, codeUnauthorized},
		{"alg none", kindHost, "Bearer " + none, 401, codeUnauthorized},
		{"expired", kindHost, "Bearer " + expired, 401, codeUnauthorized},
		{"expired whep", kindAudience, "Bearer " + expired, 401, codeUnauthorized},
		{"other channel", kindHost, "Bearer " + mint(t, "other", "1", token.RoleHost), 403, codeForbidden},
		{"other channel whep", kindAudience, "Bearer " + mint(t, "other", "1", token.RoleAudience), 403, codeForbidden},
		{"audience token on whip", kindHost, "Bearer " + mint(t, ch, "1", token.RoleAudience), 403, codeForbidden},
		{"host token on whip", kindHost, "Bearer " + host, 201, ""},
		{"host token on whep", kindAudience, "Bearer " + host, 201, ""},
		{"audience token on whep", kindAudience, "Bearer " + mint(t, ch, "2", token.RoleAudience), 201, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			offer := whepOffer
			if tc.k == kindHost {
				offer = whipOffer
			}
			var hdr []string
			if tc.auth != "" {
				hdr = append(hdr, "Authorization: "+tc.auth)
			}
			resp := do(t, http.MethodPost, tr.endpoint(tc.k, ch), "", contentTypeSDP, offer, hdr...)
			if tc.status != 201 {
				wantError(t, resp, tc.status, tc.code)
				if tc.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("401 without a Bearer challenge: %q", resp.Header.Get("WWW-Authenticate"))
				}
				return
			}
			if resp.StatusCode != 201 {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.body)
			}
			loc := resp.Header.Get("Location")
			if !strings.HasPrefix(loc, tc.k.prefix()+ch+"/") {
				t.Errorf("Location %q", loc)
			}
			if del := do(t, http.MethodDelete, tr.url+loc, "", "", ""); del.StatusCode != 200 {
				t.Errorf("DELETE: %d", del.StatusCode)
			}
		})
	}
	if n := tr.Sessions(); n != 0 {
		t.Errorf("%d sessions left", n)
	}
}

// TestAnonymous: without a secret New refuses unless anonymous access is
// allowed; with it, requests without a token work, the uid comes from the
// query, and with a secret a token that is present is still verified.
func TestAnonymous(t *testing.T) {
	if _, err := New(Config{}, nil); !errors.Is(err, ErrNoSecret) {
		t.Fatalf("New without a secret: %v, want ErrNoSecret", err)
	}
	if _, err := New(Config{TokenSecret: "short"}, nil); err == nil {
		t.Fatal("New with a 5-byte secret worked")
	}
	checkGoroutines(t)
	tr := newRelay(t, Config{AllowAnonymous: true})
	const ch = "open"
	resp := do(t, http.MethodPost, tr.endpoint(kindHost, ch)+"?uid=board-7", "", contentTypeSDP, makeOffer(t, kindHost, 1))
	if resp.StatusCode != 201 {
		t.Fatalf("anonymous whip: %d %s", resp.StatusCode, resp.body)
	}
	resp2 := do(t, http.MethodPost, tr.endpoint(kindAudience, ch), "", contentTypeSDP, makeOffer(t, kindAudience, 8))
	if resp2.StatusCode != 201 {
		t.Fatalf("anonymous whep: %d %s", resp2.StatusCode, resp2.body)
	}
	// Without a secret a token is not checked at all.
	resp3 := do(t, http.MethodPost, tr.endpoint(kindAudience, ch), "whatever", contentTypeSDP, makeOffer(t, kindAudience, 1))
	if resp3.StatusCode != 201 {
		t.Fatalf("whep with an unchecked token: %d %s", resp3.StatusCode, resp3.body)
	}
	ci, ok := tr.Channel(ch)
	if !ok || len(ci.Hosts) != 1 || ci.Hosts[0].UID != "board-7" || ci.Audience != 2 {
		t.Errorf("channel %+v", ci)
	}
	wantError(t, do(t, http.MethodPost, tr.endpoint(kindHost, ch)+"?uid=caf%C3%A9", "", contentTypeSDP, makeOffer(t, kindHost, 1)),
		400, codeBadRequest)
	for _, r := range []response{resp, resp2, resp3} {
		do(t, http.MethodDelete, tr.url+r.Header.Get("Location"), "", "", "")
	}

	// Anonymous with a secret: no token is fine, a bad one is not.
	tr2 := newRelay(t, Config{AllowAnonymous: true, TokenSecret: testSecret})
	resp4 := do(t, http.MethodPost, tr2.endpoint(kindAudience, ch), "", contentTypeSDP, makeOffer(t, kindAudience, 1))
	if resp4.StatusCode != 201 {
		t.Fatalf("anonymous whep with a secret set: %d %s", resp4.StatusCode, resp4.body)
	}
	do(t, http.MethodDelete, tr2.url+resp4.Header.Get("Location"), "", "", "")
	wantError(t, do(t, http.MethodPost, tr2.endpoint(kindAudience, ch), "bad", contentTypeSDP, makeOffer(t, kindAudience, 1)),
		401, codeUnauthorized)
}
