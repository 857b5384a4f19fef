package uplink_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/whiptest"
	"github.com/onair-dev/onair/uplink"
	"github.com/pion/webrtc/v4"
)

// Servers that bend WHIP and WHEP, as the channel servers users choose do:
// the interop package runs onair against the real ones.

// methodLog counts the requests a test front end received, per method.
type methodLog struct {
	mu sync.Mutex
	n  map[string]int
}

func (l *methodLog) add(method string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == nil {
		l.n = map[string]int{}
	}
	l.n[method]++
}

func (l *methodLog) count(method string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[method]
}

// TestOptionsUnauthorized: the endpoint refuses the token on the OPTIONS
// pre-flight with 401 or 403 and answers the POST 400, as MediaMTX 1.15
// does; Run ends with ErrUnauthorized after the one OPTIONS, no POST.
func TestOptionsUnauthorized(t *testing.T) {
	eachSide(t, func(t *testing.T, sd side) {
		for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden} {
			t.Run(http.StatusText(code), func(t *testing.T) {
				t.Parallel()
				reqs := &methodLog{}
				hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					reqs.add(r.Method)
					if r.Method == http.MethodOptions {
						http.Error(w, "authentication error", code)
						return
					}
					http.Error(w, "invalid secret", http.StatusBadRequest)
				}))
				t.Cleanup(hs.Close)
				p := sd.start(t, hs.URL+"/whip/room", "wrong")
				err := p.wait(t, 5*time.Second)
				if !errors.Is(err, uplink.ErrUnauthorized) {
					t.Fatalf("Run: %v, want ErrUnauthorized", err)
				}
				if p.states.count(uplink.StateUnauthorized) != 1 || p.State() != uplink.StateUnauthorized {
					t.Errorf("states %v, want unauthorized reported", p.states.states)
				}
				if o, posts := reqs.count(http.MethodOptions), reqs.count(http.MethodPost); o != 1 || posts != 0 {
					t.Errorf("%d OPTIONS and %d POSTs, want 1 and 0", o, posts)
				}
			})
		}
	})
}

// noLocation puts a front end before srv that drops the Location of the
// POST's 201, as go2rtc answers; it returns the front end's endpoint.
func noLocation(t *testing.T, srv *whiptest.Server) string {
	t.Helper()
	target, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method == http.MethodPost && resp.StatusCode == http.StatusCreated {
			resp.Header.Del("Location")
		}
		return nil
	}
	hs := httptest.NewServer(proxy)
	t.Cleanup(hs.Close)
	return hs.URL + srv.Endpoint()[len(srv.URL()):]
}

// TestCreatedWithoutLocation: a 201 without Location is a session all the
// same: media flows; there is no PATCH and no DELETE, and stopping closes
// the PeerConnection, which the server sees end.
func TestCreatedWithoutLocation(t *testing.T) {
	eachSide(t, func(t *testing.T, sd side) {
		srv := sd.newServer(t)
		p := sd.start(t, noLocation(t, srv), "")
		p.states.wait(t, uplink.StateConnected, 1, connectTimeout)
		startFlow(t, srv, p)
		if err := p.stop(t); err != nil {
			t.Fatalf("Run: %v, want nil", err)
		}
		if n := p.states.count(uplink.StateRetrying); n != 0 {
			t.Errorf("retried %d times, want a session without retries", n)
		}
		err := srv.WaitFor(15*time.Second, func() bool {
			s := srv.Sessions()
			return len(s) == 1 && s[0].State != webrtc.PeerConnectionStateConnected
		})
		if err != nil {
			t.Errorf("the server's session is still connected after Run returned: %+v", srv.Sessions())
		}
		if d, pa := srv.Deletes(), len(srv.RequestsOf(http.MethodPatch)); d != 0 || pa != 0 {
			t.Errorf("%d DELETEs and %d PATCHes, want none without a Location", d, pa)
		}
		if n := len(srv.RequestsOf(http.MethodPost)); n != 1 {
			t.Errorf("%d POSTs, want 1", n)
		}
	})
}
