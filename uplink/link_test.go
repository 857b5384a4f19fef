package uplink

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestParseICELinks(t *testing.T) {
	h := http.Header{}
	// RFC 9725 §4.6 examples, one per field, plus a field with two values.
	h.Add("Link", `<stun:stun.example.net>; rel="ice-server"`)
	h.Add("Link", `<turn:turn.example.net?transport=udp>; rel="ice-server"; username="user"; credential="myPassword"; credential-type="password"`)
	h.Add("Link", `<https://example.net/next>; rel="next", <turns:turn.example.net:443?transport=tcp>; rel=ice-server; username=u2; credential="a,b;\"c\""`)
	h.Add("Link", `<stun:oauth.example.net>; rel="ice-server"; credential-type="oauth"`) // not supported: skipped
	h.Add("Link", `<not a uri>; rel="ice-server"`)                                       // unparsable: skipped
	h.Add("Link", `<stun:multi.example.net:3479>; rel="preload ice-server"`)

	got := parseICELinks(h)
	want := []ICEServer{
		{URLs: []string{"stun:stun.example.net"}},
		{URLs: []string{"turn:turn.example.net?transport=udp"}, Username: "user", Credential: "myPassword"},
		{URLs: []string{"turns:turn.example.net:443?transport=tcp"}, Username: "u2", Credential: `a,b;"c"`},
		{URLs: []string{"stun:multi.example.net:3479"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseLinksMalformed(t *testing.T) {
	for _, s := range []string{"", "stun:x", "<stun:x", `<stun:x>; rel="ice-server`, ";;,,"} {
		_ = parseLinks(s) // must not panic
	}
	if got := parseLinks(`<stun:x>; rel="ice-server`); len(got) != 1 || got[0].params["rel"] != "ice-server" {
		t.Errorf("unterminated quote: %+v", got)
	}
}

func TestMergeICEServers(t *testing.T) {
	base := []ICEServer{{URLs: []string{"stun:a"}}}
	got, added := mergeICEServers(base, []ICEServer{{URLs: []string{"stun:a"}}, {URLs: []string{"turn:b"}, Username: "u"}})
	want := []ICEServer{{URLs: []string{"stun:a"}}, {URLs: []string{"turn:b"}, Username: "u"}}
	if !added || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, %v", got, added)
	}
	if _, added := mergeICEServers(want, base); added {
		t.Error("nothing new, but added")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"1", time.Second},
		{" 120 ", 2 * time.Minute},
		{"", 0},
		{"-3", 0},
		{"soon", 0},
		{"99999999999", maxRetryAfterSecs * time.Second},
		{"Tue, 24 Nov 2026 10:00:30 GMT", 30 * time.Second},
		{"Tue, 24 Nov 2026 09:00:00 GMT", 0}, // in the past
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestStatusError(t *testing.T) {
	for code, unauthorized := range map[int]bool{401: true, 403: true, 404: false, 503: false} {
		err := error(&statusError{Code: code})
		if got := errorsIs(err, ErrUnauthorized); got != unauthorized {
			t.Errorf("%d: Is(ErrUnauthorized) = %v", code, got)
		}
	}
}
