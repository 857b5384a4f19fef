package relay

import (
	"net/http"
	"testing"

	"github.com/onair-dev/onair/web"
)

// TestUnknownPaths404: a path that names no resource is a 404 with a JSON
// error whatever the method, with the web pages mounted too; a method an
// existing resource does not allow is a 405 with Allow.
func TestUnknownPaths404(t *testing.T) {
	tr := newRelay(t, Config{Web: web.Handler()})
	for _, tc := range []struct{ method, path string }{
		{http.MethodPost, "/nope"},
		{http.MethodGet, "/nope"},
		{http.MethodPut, "/favicon.ico"},
		{http.MethodDelete, "/api"},
		{http.MethodPost, "/healthz/x"},
		{http.MethodPost, "/whip/lobby/00112233445566778899aabbccddeeff/x"},
		{http.MethodPatch, "/whep/lobby/"},
		{http.MethodPost, "/api/channels/lobby/x"},
		{http.MethodGet, "/listening"},
	} {
		wantError(t, do(t, tc.method, tr.url+tc.path, "", "", ""), 404, codeNotFound)
	}
	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodGet, "/whip/lobby", allowEndpoint},
		{http.MethodDelete, "/whep/lobby", allowEndpoint},
		{http.MethodPost, "/api/channels", "GET, HEAD"},
		{http.MethodPost, "/healthz", "GET, HEAD"},
	} {
		resp := do(t, tc.method, tr.url+tc.path, "", "", "")
		wantError(t, resp, 405, codeMethodNotAllowed)
		if got := resp.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
	// The pages are still served, and still refuse other methods.
	for _, p := range []string{"/", "/listen/lobby", "/channel/lobby"} {
		if resp := do(t, http.MethodGet, tr.url+p, "", "", ""); resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
	if resp := do(t, http.MethodPost, tr.url+"/", "", "", ""); resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}
