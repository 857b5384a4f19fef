package relay

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/onair-dev/onair/internal/defaults"
)

// Defaults of the admission limits of Config.
const (
	DefaultMaxPendingPerUID  = defaults.RelayMaxPendingPerUID
	DefaultMaxPendingPerAddr = defaults.RelayMaxPendingPerAddr
	DefaultHostReserve       = defaults.RelayHostReserve
)

// codeTooManyPending is the code of the 429 for a client over a pending
// limit.
const codeTooManyPending = "too_many_pending"

// A session is pending from its admission until ICE first connects. A
// pending session costs the relay a PeerConnection and its ICE agent while
// it gives nothing, so the pending sessions of one token uid and of one
// remote address are bounded (Config.MaxPendingPerUID, MaxPendingPerAddr),
// and ConnectTimeout reaps them. A host with a verified token is not
// bounded so: its token is the trust, and a new session of its uid replaces
// the old. Audiences may not take the last Config.HostReserve sessions, so
// that a flood of audiences never locks the hosts out.

// pendingKeys are the counters a session's pendency is counted under.
type pendingKeys struct {
	uid  string // channel and uid
	addr string // remote address (an IPv6 /64)
}

// pendingKeysOf returns the counters of a session in channel name of uid,
// from the remote address remote (http.Request.RemoteAddr).
func pendingKeysOf(name, uid, remote string) pendingKeys {
	return pendingKeys{uid: name + "\x00" + uid, addr: addrKey(remote)}
}

// addrKey returns what one client is counted under: the IP address of
// host:port, or its /64 for IPv6, which one end site usually holds whole.
func addrKey(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}

// limited says whether a session of kind k, anonymous or not, is bounded
// by the pending limits: every session but a host with a verified token.
func limited(k kind, anon bool) bool { return k == kindAudience || anon }

// checkAdmission refuses a session the limits leave no room for: 503 for
// an audience when only the host reserve is left, 429 when its uid or its
// address has the most pending sessions it may. Relay.mu is held.
func (r *Relay) checkAdmission(k kind, anon bool, keys pendingKeys) *httpError {
	if k == kindAudience && len(r.sessions) >= r.cfg.MaxSessions-r.cfg.HostReserve {
		return unavailable("the relay holds %d sessions; its last %d of %d are kept for hosts (relay.host_reserve)",
			len(r.sessions), r.cfg.HostReserve, r.cfg.MaxSessions)
	}
	if !limited(k, anon) {
		return nil
	}
	if n := r.pendingUID[keys.uid]; n >= r.cfg.MaxPendingPerUID {
		return r.tooManyPending("the uid has %d sessions that are not connected yet, the most it may have (relay.max_pending_per_uid)", n)
	}
	if n := r.pendingAddr[keys.addr]; n >= r.cfg.MaxPendingPerAddr {
		return r.tooManyPending("the address %s has %d sessions that are not connected yet, the most it may have (relay.max_pending_per_addr)", keys.addr, n)
	}
	return nil
}

// tooManyPending is a 429 (RFC 6585 §4) whose Retry-After is the connect
// timeout, by when a pending session has connected or been reaped.
func (r *Relay) tooManyPending(format string, args ...any) *httpError {
	secs := int(math.Ceil(r.cfg.ConnectTimeout.Seconds()))
	return errorf(http.StatusTooManyRequests, codeTooManyPending, format, args...).
		with("Retry-After", strconv.Itoa(secs))
}

// markPending counts an admitted session as pending. Relay.mu is held.
func (r *Relay) markPending(s *session) {
	if !limited(s.kind, s.anon) {
		return
	}
	s.pending = true
	r.pendingUID[s.keys.uid]++
	r.pendingAddr[s.keys.addr]++
}

// unmarkPending stops counting s as pending, once it connected or left.
// Relay.mu is held.
func (r *Relay) unmarkPending(s *session) {
	if !s.pending {
		return
	}
	s.pending = false
	for _, c := range []struct {
		m   map[string]int
		key string
	}{{r.pendingUID, s.keys.uid}, {r.pendingAddr, s.keys.addr}} {
		if c.m[c.key]--; c.m[c.key] <= 0 {
			delete(c.m, c.key)
		}
	}
}

// connected is told by the session's loop that ICE connected.
func (r *Relay) connected(s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unmarkPending(s)
}
