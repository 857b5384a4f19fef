package relay

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onair-dev/onair/token"
)

// pending returns the relay's pending sessions, by its address counters.
func (tr *testRelay) pending() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, v := range tr.pendingAddr {
		n += v
	}
	return n
}

// wantLimit checks that resp is a refusal of status with Retry-After
// whose message names the configuration key of the limit.
func wantLimit(t *testing.T, resp response, status int, code, key string) {
	t.Helper()
	eb := wantError(t, resp, status, code)
	if !strings.Contains(eb.Error.Message, key) {
		t.Errorf("message %q does not name %s", eb.Error.Message, key)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s <= 0 {
		t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
}

// TestPendingFlood: sessions that never connect are bounded per uid and
// per address (429 naming the limit, with Retry-After); a host with a
// token still gets in. Reaped and connected sessions are no longer
// pending.
func TestPendingFlood(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{MaxSessions: 100, ConnectTimeout: time.Minute})
	const ch = "lobby"
	offer := makeOffer(t, kindAudience, 8) // its peer is gone: it never connects
	post := func(uid string) response {
		return do(t, http.MethodPost, tr.endpoint(kindAudience, ch), mint(t, ch, uid, token.RoleAudience), contentTypeSDP, offer)
	}

	// One audience token, many offers.
	for i := range 3 * DefaultMaxPendingPerUID {
		resp := post("flood")
		if i < DefaultMaxPendingPerUID {
			if resp.StatusCode != 201 {
				t.Fatalf("offer %d: %d %s", i, resp.StatusCode, resp.body)
			}
			continue
		}
		wantLimit(t, resp, http.StatusTooManyRequests, codeTooManyPending, "relay.max_pending_per_uid")
	}
	// Many tokens, one address.
	for i := range 2 * DefaultMaxPendingPerAddr {
		resp := post(fmt.Sprintf("u%d", i))
		if i < DefaultMaxPendingPerAddr-DefaultMaxPendingPerUID {
			if resp.StatusCode != 201 {
				t.Fatalf("offer of u%d: %d %s", i, resp.StatusCode, resp.body)
			}
			continue
		}
		wantLimit(t, resp, http.StatusTooManyRequests, codeTooManyPending, "relay.max_pending_per_addr")
	}
	if n, p := tr.Sessions(), tr.pending(); n != DefaultMaxPendingPerAddr || p != n {
		t.Errorf("%d sessions, %d pending; want %d of each", n, p, DefaultMaxPendingPerAddr)
	}
	host := do(t, http.MethodPost, tr.endpoint(kindHost, ch), mint(t, ch, "h", token.RoleHost), contentTypeSDP, makeOffer(t, kindHost, 1))
	if host.StatusCode != 201 {
		t.Fatalf("host after the flood: %d %s", host.StatusCode, host.body)
	}
	if p := tr.pending(); p != DefaultMaxPendingPerAddr {
		t.Errorf("a host with a token counted as pending: %d", p)
	}

	// Connected sessions are not pending: a uid may have more of them.
	tr2 := newRelay(t, Config{})
	for range DefaultMaxPendingPerUID + 1 {
		dialAudience(t, tr2.endpoint(kindAudience, ch), mint(t, ch, "listener", token.RoleAudience))
	}
	if p := tr2.pending(); p != 0 {
		t.Errorf("%d connected sessions still pending", p)
	}
}

// TestPendingReaped: pending sessions are reaped after ConnectTimeout and
// leave the counters, so that their uid may try again.
func TestPendingReaped(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{ConnectTimeout: 300 * time.Millisecond})
	const ch = "lobby"
	tok := mint(t, ch, "a", token.RoleAudience)
	offer := makeOffer(t, kindAudience, 1)
	for range DefaultMaxPendingPerUID {
		if resp := do(t, http.MethodPost, tr.endpoint(kindAudience, ch), tok, contentTypeSDP, offer); resp.StatusCode != 201 {
			t.Fatalf("POST: %d %s", resp.StatusCode, resp.body)
		}
	}
	wantLimit(t, do(t, http.MethodPost, tr.endpoint(kindAudience, ch), tok, contentTypeSDP, offer),
		http.StatusTooManyRequests, codeTooManyPending, "relay.max_pending_per_uid")
	waitFor(t, 10*time.Second, "pending sessions reaped", func() bool { return tr.Sessions() == 0 && tr.pending() == 0 })
	if resp := do(t, http.MethodPost, tr.endpoint(kindAudience, ch), tok, contentTypeSDP, offer); resp.StatusCode != 201 {
		t.Errorf("POST after the reap: %d %s", resp.StatusCode, resp.body)
	}
}

// TestHostReserve: audiences may not take the last HostReserve sessions;
// hosts may.
func TestHostReserve(t *testing.T) {
	checkGoroutines(t)
	if _, err := New(Config{TokenSecret: testSecret, MaxSessions: 4, HostReserve: 4}, nil); err == nil {
		t.Error("New accepted a host reserve of every session")
	}
	tr := newRelay(t, Config{MaxSessions: 6, HostReserve: 2, MaxPendingPerAddr: 100})
	const ch = "lobby"
	offer := makeOffer(t, kindAudience, 1)
	for i := range 5 {
		resp := do(t, http.MethodPost, tr.endpoint(kindAudience, ch), mint(t, ch, fmt.Sprintf("a%d", i), token.RoleAudience), contentTypeSDP, offer)
		if i < 4 {
			if resp.StatusCode != 201 {
				t.Fatalf("audience %d: %d %s", i, resp.StatusCode, resp.body)
			}
			continue
		}
		wantLimit(t, resp, http.StatusServiceUnavailable, codeUnavailable, "relay.host_reserve")
	}
	hostOffer := makeOffer(t, kindHost, 1)
	for i := range 2 {
		if resp := do(t, http.MethodPost, tr.endpoint(kindHost, ch), mint(t, ch, fmt.Sprintf("h%d", i), token.RoleHost), contentTypeSDP, hostOffer); resp.StatusCode != 201 {
			t.Errorf("host %d: %d %s", i, resp.StatusCode, resp.body)
		}
	}
	if n := tr.Sessions(); n != 6 {
		t.Errorf("%d sessions, want 6", n)
	}
}

// TestAddrKey: clients are counted by IP address, IPv6 by its /64.
func TestAddrKey(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:4000":                "127.0.0.1",
		"[::ffff:10.0.0.1]:80":          "10.0.0.1",
		"[2001:db8:1:2:3:4:5:6]:443":    "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:1":      "2001:db8:1:2::/64",
		"not an address":                "not an address",
		"[fe80::1%eth0]:9":              "fe80::/64",
		"192.0.2.7":                     "192.0.2.7",
		"[2001:db8:1:3::1]:1":           "2001:db8:1:3::/64",
		"[2001:0db8:0001:0002::9]:1234": "2001:db8:1:2::/64",
	} {
		if got := addrKey(in); got != want {
			t.Errorf("addrKey(%q) = %q, want %q", in, got, want)
		}
	}
}
