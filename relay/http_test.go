package relay

import (
	"net/http"
	"strings"
	"testing"

	"github.com/onair-dev/onair/token"
	"github.com/onair-dev/onair/uplink"
)

// TestBadRequests: malformed SDP, offers without a usable audio section
// and channel names that break Agora's rule are 400s with JSON bodies; a
// wrong content type is 415.
func TestBadRequests(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{})
	const ch = "lobby"
	tok := mint(t, ch, "1", token.RoleHost)
	whipOffer := makeOffer(t, kindHost, 1)
	videoOnly := strings.ReplaceAll(strings.ReplaceAll(whipOffer, "m=audio", "m=video"), "opus/48000/2", "VP8/90000")
	noOpus := strings.ReplaceAll(whipOffer, "opus/48000/2", "PCMU/8000")
	recvonly := strings.ReplaceAll(whipOffer, "a=sendonly", "a=recvonly")

	for _, tc := range []struct {
		name, body string
		k          kind
	}{
		{"empty body", "", kindHost},
		{"not sdp", "hello, relay", kindHost},
		{"truncated sdp", whipOffer[:40], kindHost},
		{"video only", videoOnly, kindHost},
		{"no opus", noOpus, kindHost},
		{"recvonly on whip", recvonly, kindHost},
		{"sendonly on whep", whipOffer, kindAudience},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(t, http.MethodPost, tr.endpoint(tc.k, ch), tok, contentTypeSDP, tc.body)
			wantError(t, resp, 400, codeInvalidSDP)
		})
	}
	wantError(t, do(t, http.MethodPost, tr.endpoint(kindHost, ch), tok, "text/plain", whipOffer), 415, codeUnsupportedType)
	wantError(t, do(t, http.MethodPost, tr.endpoint(kindHost, ch), tok, contentTypeSDP, strings.Repeat("a", maxBody+1)), 413, codeTooLarge)

	for _, tc := range []struct{ name, path string }{
		{"65 bytes", "/whip/" + strings.Repeat("x", 65)},
		{"escaped slash", "/whip/a%2Fb"},
		{"non-ascii", "/whip/%C3%A9"},
		{"quote", "/whip/a%22b"},
		{"empty", "/whip/"},
		{"whep 65 bytes", "/whep/" + strings.Repeat("x", 65)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eb := wantError(t, do(t, http.MethodPost, tr.url+tc.path, tok, contentTypeSDP, whipOffer), 400, codeInvalidChannel)
			if !strings.Contains(eb.Error.Message, "1 to 64 bytes") {
				t.Errorf("message does not name the rule: %q", eb.Error.Message)
			}
		})
	}
	if n := tr.Sessions(); n != 0 {
		t.Errorf("%d sessions after bad requests", n)
	}
}

// TestLimits: over MaxSessions or MaxHostsPerChannel is a 503 with
// Retry-After; a freed place can be taken again. New refuses more hosts
// per channel than audience slots.
func TestLimits(t *testing.T) {
	if _, err := New(Config{TokenSecret: testSecret, AudienceSlots: 2, MaxHostsPerChannel: 3}, nil); err == nil {
		t.Error("New accepted 3 hosts per channel with 2 audience slots")
	}
	checkGoroutines(t)
	tr := newRelay(t, Config{MaxSessions: 3, MaxHostsPerChannel: 2})
	post := func(k kind, ch, uid string, role token.Role) response {
		n := 1
		if k == kindAudience {
			n = 8
		}
		return do(t, http.MethodPost, tr.endpoint(k, ch), mint(t, ch, uid, role), contentTypeSDP, makeOffer(t, k, n))
	}
	want := func(resp response, status int) {
		t.Helper()
		if status == 503 {
			wantError(t, resp, 503, codeUnavailable)
			if resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			return
		}
		if resp.StatusCode != status {
			t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, resp.body)
		}
	}
	h1 := post(kindHost, "a", "h1", token.RoleHost)
	want(h1, 201)
	want(post(kindHost, "a", "h2", token.RoleHost), 201)
	want(post(kindHost, "a", "h3", token.RoleHost), 503) // hosts per channel
	want(post(kindAudience, "b", "x", token.RoleAudience), 201)
	want(post(kindAudience, "b", "y", token.RoleAudience), 503) // sessions
	want(post(kindHost, "c", "z", token.RoleHost), 503)         // sessions
	do(t, http.MethodDelete, tr.url+h1.Header.Get("Location"), "", "", "")
	want(post(kindHost, "a", "h3", token.RoleHost), 201)
	if n := tr.Sessions(); n != 3 {
		t.Errorf("%d sessions, want 3", n)
	}
}

// TestResourceMethods: OPTIONS announces the ICE servers in Link fields
// (RFC 9725 §4.6) with Allow and Accept-Post / Accept-Patch; the 201 has
// them too; wrong methods are 405 with Allow; unknown sessions are 404;
// DELETE is 200 once and 404 after.
func TestResourceMethods(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{ICEServers: []uplink.ICEServer{
		{URLs: []string{"stun:stun.example.net:3478"}},
		{URLs: []string{"turn:turn.example.net?transport=udp"}, Username: "u", Credential: `p"w`},
	}})
	const ch = "lobby"
	opt := do(t, http.MethodOptions, tr.endpoint(kindHost, ch), "", "", "")
	if opt.StatusCode != 204 || opt.Header.Get("Allow") != allowEndpoint || opt.Header.Get("Accept-Post") != contentTypeSDP {
		t.Errorf("OPTIONS: %d %v", opt.StatusCode, opt.Header)
	}
	links := opt.Header.Values("Link")
	wantLinks := []string{
		`<stun:stun.example.net:3478>; rel="ice-server"`,
		`<turn:turn.example.net?transport=udp>; rel="ice-server"; username="u"; credential="p\"w"; credential-type="password"`,
	}
	if strings.Join(links, "\n") != strings.Join(wantLinks, "\n") {
		t.Errorf("Link fields:\n%s\nwant\n%s", strings.Join(links, "\n"), strings.Join(wantLinks, "\n"))
	}
	wantError(t, do(t, http.MethodGet, tr.endpoint(kindHost, ch), "", "", ""), 405, codeMethodNotAllowed)

	resp := do(t, http.MethodPost, tr.endpoint(kindAudience, ch), mint(t, ch, "1", token.RoleAudience), contentTypeSDP, makeOffer(t, kindAudience, 2))
	if resp.StatusCode != 201 {
		t.Fatalf("POST: %d %s", resp.StatusCode, resp.body)
	}
	if len(resp.Header.Values("Link")) != 2 || resp.Header.Get("ETag") == "" ||
		resp.Header.Get("Content-Type") != contentTypeSDP || !strings.HasPrefix(resp.body, "v=0") {
		t.Errorf("201: %v\n%s", resp.Header, resp.body)
	}
	if n := strings.Count(resp.body, "a=sendonly"); n != 2 {
		t.Errorf("answer has %d sendonly sections, want 2", n)
	}
	loc := tr.url + resp.Header.Get("Location")
	ro := do(t, http.MethodOptions, loc, "", "", "")
	if ro.StatusCode != 204 || ro.Header.Get("Allow") != allowSession || ro.Header.Get("Accept-Patch") != contentTypeSDPFrag {
		t.Errorf("OPTIONS session: %d %v", ro.StatusCode, ro.Header)
	}
	bad := wantError(t, do(t, http.MethodPut, loc, "", "", ""), 405, codeMethodNotAllowed)
	_ = bad
	wantError(t, do(t, http.MethodDelete, tr.endpoint(kindAudience, ch)+"/00112233445566778899aabbccddeeff", "", "", ""), 404, codeNotFound)
	// the session exists under /whep/lobby only
	wantError(t, do(t, http.MethodDelete, strings.Replace(loc, "/whep/", "/whip/", 1), "", "", ""), 404, codeNotFound)
	wantError(t, do(t, http.MethodDelete, strings.Replace(loc, "/lobby/", "/other/", 1), "", "", ""), 404, codeNotFound)
	if del := do(t, http.MethodDelete, loc, "", "", ""); del.StatusCode != 200 {
		t.Errorf("DELETE: %d", del.StatusCode)
	}
	wantError(t, do(t, http.MethodDelete, loc, "", "", ""), 404, codeNotFound)
	wantError(t, do(t, http.MethodGet, tr.url+"/nowhere", "", "", ""), 404, codeNotFound)
	wantError(t, do(t, http.MethodGet, tr.url+"/whip/a/b/c", "", "", ""), 404, codeNotFound)
}

// TestWebMounted: Config.Web serves "/", "/listen/…" and "/assets/…".
func TestWebMounted(t *testing.T) {
	web := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Web", r.URL.Path)
	})
	tr := newRelay(t, Config{Web: web})
	for _, p := range []string{"/", "/listen/lobby", "/assets/app.js"} {
		if got := do(t, http.MethodGet, tr.url+p, "", "", "").Header.Get("X-Web"); got != p {
			t.Errorf("GET %s reached web as %q", p, got)
		}
	}
	if got := do(t, http.MethodGet, tr.url+"/healthz", "", "", "").Header.Get("X-Web"); got != "" {
		t.Errorf("/healthz went to web")
	}
}
