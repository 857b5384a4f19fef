package relay

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/onair-dev/onair/token"
)

// TestConfig: New fills in the defaults and refuses bad values with
// messages that name the field.
func TestConfig(t *testing.T) {
	r, err := New(Config{TokenSecret: testSecret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := r.cfg
	if c.MaxSessions != DefaultMaxSessions || c.AudienceSlots != DefaultAudienceSlots ||
		c.MaxHostsPerChannel != DefaultAudienceSlots || c.DisconnectTimeout != DefaultDisconnectTimeout ||
		c.ConnectTimeout != DefaultConnectTimeout {
		t.Errorf("defaults %+v", c)
	}
	r.Close()
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no token secret"},
		{Config{TokenSecret: "short"}, "token secret"},
		{Config{TokenSecret: testSecret, MaxSessions: -1}, "max sessions"},
		{Config{TokenSecret: testSecret, DisconnectTimeout: -time.Second}, "disconnect timeout"},
		{Config{TokenSecret: testSecret, MaxHostsPerChannel: 9}, "audience slots 8"},
		{Config{TokenSecret: testSecret, ICEServers: nil}, ""},
	} {
		_, err := New(tc.cfg, nil)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.cfg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: %v, want an error about %q", tc.cfg, err, tc.want)
		}
	}
	r2, _ := New(Config{TokenSecret: testSecret}, nil)
	if err := r2.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("Run without a listen address: %v", err)
	}
}

// TestServeUntilCancelled: Serve answers on its listener until its context
// ends, then closes every session and returns nil; after that Serve is
// refused; Close is idempotent and also ends a running Serve.
func TestServeUntilCancelled(t *testing.T) {
	checkGoroutines(t)
	r, err := New(Config{TokenSecret: testSecret, Network: loopback}, testLog())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	const ch = "serve"
	dialAudience(t, base+"/whep/"+ch, mint(t, ch, "a", token.RoleAudience))
	if r.Sessions() != 1 {
		t.Fatalf("%d sessions", r.Sessions())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if n := r.Sessions(); n != 0 {
		t.Errorf("%d sessions after Serve returned", n)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still serving")
	}
	r.Close()
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := r.Serve(context.Background(), ln2); !errors.Is(err, ErrClosed) {
		t.Errorf("Serve after Close: %v", err)
	}

	r3, _ := New(Config{TokenSecret: testSecret, Network: loopback}, nil)
	ln3, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() { done <- r3.Serve(context.Background(), ln3) }()
	noKeepAlive := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	waitFor(t, 10*time.Second, "the relay serving", func() bool {
		resp, err := noKeepAlive.Get("http://" + ln3.Addr().String() + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	r3.Close()
	r3.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve ended by Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end Serve")
	}
}

// TestMoreSectionsThanSlots: an audience offering more audio sections than
// the relay has slots gets an answer for all of them; the extra ones send
// nothing.
func TestMoreSectionsThanSlots(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{AudienceSlots: 2})
	const ch = "wide"
	h := dialRawHost(t, tr.endpoint(kindHost, ch), mint(t, ch, "h", token.RoleHost))
	defer h.close()
	resp := do(t, http.MethodPost, tr.endpoint(kindAudience, ch), mint(t, ch, "a", token.RoleAudience), contentTypeSDP, makeOffer(t, kindAudience, 4))
	if resp.StatusCode != 201 {
		t.Fatalf("POST: %d %s", resp.StatusCode, resp.body)
	}
	if n := strings.Count(resp.body, "m=audio"); n != 4 {
		t.Errorf("answer has %d audio sections, want 4", n)
	}
	do(t, http.MethodDelete, tr.url+resp.Header.Get("Location"), "", "", "")
}

// TestCORS: a cross-origin preflight is answered 204 with the methods and
// fields WHIP uses; answers expose Location, ETag and Link.
func TestCORS(t *testing.T) {
	tr := newRelay(t, Config{})
	pre := do(t, http.MethodOptions, tr.endpoint(kindAudience, "x"), "", "", "",
		"Origin: https://elsewhere.example", "Access-Control-Request-Method: POST")
	if pre.StatusCode != 204 || pre.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
	get := do(t, http.MethodGet, tr.url+"/api/channels", "", "", "", "Origin: https://elsewhere.example")
	if get.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(get.Header.Get("Access-Control-Expose-Headers"), "Location") {
		t.Errorf("simple request: %v", get.Header)
	}
}
