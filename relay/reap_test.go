package relay

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/nettest"
	"github.com/onair-dev/onair/internal/wheptest"
	"github.com/onair-dev/onair/token"
)

// TestVanishedClientReaped: an audience whose network goes silent, never
// sending DELETE, is reaped: pion reports ICE disconnected after ~5 s of
// silence, and DisconnectTimeout later the session is gone from the relay
// and its channel.
func TestVanishedClientReaped(t *testing.T) {
	checkGoroutines(t)
	const timeout = 300 * time.Millisecond
	tr := newRelay(t, Config{DisconnectTimeout: timeout})
	const ch = "vanish"
	var frozen atomic.Bool
	fn, err := nettest.NewFreezeNet(&frozen)
	if err != nil {
		t.Fatal(err)
	}
	network := loopback
	network.Net = fn
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	c, err := wheptest.Dial(ctx, wheptest.Config{URL: tr.endpoint(kindAudience, ch), Token: mint(t, ch, "a", token.RoleAudience), Network: network})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	s := only(t, tr)
	frozen.Store(true)
	start := time.Now()
	waitFor(t, 30*time.Second, "the vanished audience reaped", func() bool { return tr.Sessions() == 0 })
	took := time.Since(start)
	if took < timeout {
		t.Errorf("reaped after %s, before the disconnect timeout", took)
	}
	t.Logf("reaped %s after the client went silent", took.Round(time.Millisecond))
	if _, ok := tr.Channel(ch); ok {
		t.Error("the channel outlived its only session")
	}
	select {
	case <-s.quit:
	default:
		t.Error("the session was not torn down")
	}
}

// TestNeverConnectedReaped: a session whose client never connects (its
// offer came from a peer that went away) is torn down after
// ConnectTimeout.
func TestNeverConnectedReaped(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{ConnectTimeout: 500 * time.Millisecond})
	const ch = "ghost"
	resp := do(t, http.MethodPost, tr.endpoint(kindHost, ch), mint(t, ch, "h", token.RoleHost), contentTypeSDP, makeOffer(t, kindHost, 1))
	if resp.StatusCode != 201 {
		t.Fatalf("POST: %d %s", resp.StatusCode, resp.body)
	}
	if len(hostsByUID(t, tr, ch)) != 1 {
		t.Fatal("host not listed")
	}
	waitFor(t, 15*time.Second, "the unconnected host reaped", func() bool { return tr.Sessions() == 0 })
	if _, ok := tr.Channel(ch); ok {
		t.Error("channel still listed")
	}
}

// TestClosedClientReaped: a host whose PeerConnection is closed without a
// DELETE (its process died) leaves its channel: the API stops listing it
// and its listener stops receiving its slot.
func TestClosedClientReaped(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{DisconnectTimeout: 300 * time.Millisecond})
	const ch = "crash"
	aud := dialAudience(t, tr.endpoint(kindAudience, ch), mint(t, ch, "a", token.RoleAudience))
	h := dialRawHost(t, tr.endpoint(kindHost, ch), mint(t, ch, "h", token.RoleHost))
	waitTone(t, aud, 0, 440)
	h.close() // no DELETE
	gone := time.Now()
	waitFor(t, 30*time.Second, "the closed host reaped", func() bool { return len(hostsByUID(t, tr, ch)) == 0 })
	t.Logf("reaped %s after the host closed", time.Since(gone).Round(time.Millisecond))
	n := aud.Packets(0)
	time.Sleep(300 * time.Millisecond)
	if aud.Packets(0) != n {
		t.Error("the audience still receives the reaped host")
	}
	if tr.Sessions() != 1 {
		t.Errorf("%d sessions, want the audience only", tr.Sessions())
	}
}

// TestSameUIDReplaces: a host session with the uid of a host already in the
// channel replaces it at once (as Agora does): one host is listed, the
// newer one, and the old session is gone.
func TestSameUIDReplaces(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{})
	const ch = "twins"
	tok := mint(t, ch, "h", token.RoleHost)
	h1 := dialRawHost(t, tr.endpoint(kindHost, ch), tok)
	defer h1.close()
	first := hostsByUID(t, tr, ch)["h"].Since
	h2 := dialRawHost(t, tr.endpoint(kindHost, ch), tok)
	defer h2.close()
	hosts := hostsByUID(t, tr, ch)
	if len(hosts) != 1 || !hosts["h"].Since.After(first) || tr.Sessions() != 1 {
		t.Errorf("hosts after a second session of uid h: %+v, %d sessions", hosts, tr.Sessions())
	}
	wantError(t, do(t, http.MethodDelete, h1.location, "", "", ""), 404, codeNotFound)
}
