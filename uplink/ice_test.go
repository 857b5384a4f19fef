package uplink_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onair-dev/onair/uplink"
	"github.com/pion/stun/v4"
)

// stunServer is a UDP socket that records STUN Binding requests and answers
// them after a delay.
type stunServer struct {
	conn     *net.UDPConn
	mu       sync.Mutex
	requests int
	wg       sync.WaitGroup
}

func newSTUNServer(t *testing.T, answerAfter time.Duration) *stunServer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &stunServer{conn: conn}
	s.wg.Add(1)
	go s.serve(answerAfter)
	t.Cleanup(func() {
		_ = conn.Close()
		s.wg.Wait()
	})
	return s
}

func (s *stunServer) port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

func (s *stunServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func (s *stunServer) serve(answerAfter time.Duration) {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if !stun.IsMessage(m.Raw) || m.Decode() != nil || m.Type != stun.BindingRequest {
			continue
		}
		s.mu.Lock()
		s.requests++
		s.mu.Unlock()
		resp, err := stun.Build(stun.NewTransactionIDSetter(m.TransactionID), stun.BindingSuccess,
			&stun.XORMappedAddress{IP: from.IP, Port: from.Port}, stun.Fingerprint)
		if err != nil {
			continue
		}
		s.wg.Add(1)
		time.AfterFunc(answerAfter, func() {
			defer s.wg.Done()
			_, _ = s.conn.WriteToUDP(resp.Raw, from)
		})
	}
}

// TestLinkICEServers: the endpoint announces a STUN server in Link headers
// (OPTIONS and 201); the publisher really uses it, and the server reflexive
// candidate, learned after the offer was sent, is trickled by PATCH with
// If-Match set to the session's ETag.
func TestLinkICEServers(t *testing.T) {
	checkGoroutines(t)
	stunSrv := newSTUNServer(t, 2500*time.Millisecond) // after the 2 s gathering bound
	srv := newServer(t)
	srv.SetLinks(fmt.Sprintf(`<stun:127.0.0.1:%d>; rel="ice-server"`, stunSrv.port()))
	p := startPublisher(t, uplink.PublisherConfig{URL: srv.Endpoint()})

	if err := srv.WaitFor(5*time.Second, func() bool { return stunSrv.count() > 0 }); err != nil {
		t.Fatal("no STUN binding request reached the Link ICE server")
	}
	p.states.wait(t, uplink.StateConnected, 1, connectTimeout)

	if err := srv.WaitFor(5*time.Second, func() bool { return len(srv.RequestsOf(http.MethodPatch)) > 0 }); err != nil {
		t.Fatal("the server reflexive candidate was not trickled")
	}
	sess := srv.Sessions()[0]
	patch := srv.RequestsOf(http.MethodPatch)[0]
	if patch.Path != sess.Location || patch.IfMatch != sess.ETag ||
		patch.ContentType != "application/trickle-ice-sdpfrag" {
		t.Errorf("trickle %+v: want PATCH of %s with If-Match %s", patch, sess.Location, sess.ETag)
	}
	if !strings.Contains(patch.Body, "typ srflx") || !strings.Contains(patch.Body, "a=ice-ufrag:"+sess.RemoteUfrag) {
		t.Errorf("trickle body %q: want the srflx candidate with ufrag %s", patch.Body, sess.RemoteUfrag)
	}
	if err := srv.WaitFor(2*time.Second, func() bool { return srv.Sessions()[0].Trickles == 1 }); err != nil {
		t.Errorf("server applied %d trickles, want 1", srv.Sessions()[0].Trickles)
	}
	if opts := srv.RequestsOf(http.MethodOptions); len(opts) == 0 {
		t.Error("no OPTIONS request for the ICE servers")
	}
}

// TestICERestartByPatch: RestartICE with PATCH allowed restarts ICE on the
// same session (RFC 9725 §4.3.2): If-Match "*", a new ufrag, no new POST,
// audio keeps flowing.
func TestICERestartByPatch(t *testing.T) {
	checkGoroutines(t)
	srv := newServer(t)
	p := startPublisher(t, uplink.PublisherConfig{URL: srv.Endpoint()})
	p.states.wait(t, uplink.StateConnected, 1, connectTimeout)
	pump(t, p, 0, nil)
	if err := srv.WaitPackets(10, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	oldUfrag := srv.Sessions()[0].RemoteUfrag

	p.RestartICE()
	if err := srv.WaitFor(5*time.Second, func() bool { return srv.Sessions()[0].ICERestarts == 1 }); err != nil {
		t.Fatal("no ICE restart on the server")
	}
	patches := srv.RequestsOf(http.MethodPatch)
	if len(patches) != 1 || patches[0].IfMatch != "*" {
		t.Fatalf("patches %+v, want one with If-Match *", patches)
	}
	sess := srv.Sessions()[0]
	if sess.RemoteUfrag == oldUfrag || !strings.Contains(patches[0].Body, "a=ice-ufrag:"+sess.RemoteUfrag) {
		t.Errorf("ufrag %q after restart (was %q), patch %q", sess.RemoteUfrag, oldUfrag, patches[0].Body)
	}
	n := len(srv.SessionPackets(1))
	if err := srv.WaitFor(5*time.Second, func() bool { return len(srv.SessionPackets(1)) >= n+25 }); err != nil {
		t.Fatal("audio did not keep flowing after the ICE restart")
	}
	if posts := srv.RequestsOf(http.MethodPost); len(posts) != 1 {
		t.Errorf("%d POSTs, want 1 (same session)", len(posts))
	}
	if st := p.Stats(); st.ICERestarts != 1 || p.states.count(uplink.StateRetrying) != 0 {
		t.Errorf("ice restarts %d, states %v", st.ICERestarts, p.states.states)
	}
}

// TestICERestartPatchRefused: with PATCH refused (405) the same trigger
// leads to a full re-offer: a new POST and a new session.
func TestICERestartPatchRefused(t *testing.T) {
	checkGoroutines(t)
	srv := newServer(t)
	srv.SetPatchAllowed(false)
	p := startPublisher(t, uplink.PublisherConfig{URL: srv.Endpoint()})
	p.states.wait(t, uplink.StateConnected, 1, connectTimeout)

	p.RestartICE()
	p.states.wait(t, uplink.StateConnected, 2, connectTimeout)
	if posts := srv.RequestsOf(http.MethodPost); len(posts) != 2 {
		t.Errorf("%d POSTs, want 2", len(posts))
	}
	if err := srv.WaitSessions(2, time.Second); err != nil {
		t.Fatal(err)
	}
	if s := srv.Sessions(); !s[0].Deleted || s[0].ICERestarts != 0 {
		t.Errorf("old session %+v: want deleted, not restarted", s[0])
	}
}

// TestStats: the stats count what was sent and dropped and reflect the
// receiver's RTCP Receiver Reports.
func TestStats(t *testing.T) {
	checkGoroutines(t)
	srv := newServer(t)
	srv.FailPOSTs(1, "1") // no session for a second: packets are dropped
	p := startPublisher(t, uplink.PublisherConfig{URL: srv.Endpoint()})
	pump(t, p, 0, nil)
	p.states.wait(t, uplink.StateConnected, 1, connectTimeout)
	if err := srv.WaitFor(5*time.Second, func() bool { return p.Stats().ReceiverReports >= 2 }); err != nil {
		t.Fatalf("no receiver reports: %+v", p.Stats())
	}
	st := p.Stats()
	t.Logf("stats %+v", st)
	if st.PacketsSent == 0 || st.BytesSent == 0 || st.PacketsDropped == 0 {
		t.Errorf("sent %d packets, %d bytes, dropped %d: want all > 0", st.PacketsSent, st.BytesSent, st.PacketsDropped)
	}
	if st.State != uplink.StateConnected || st.LastError != "" {
		t.Errorf("state %s, last error %q", st.State, st.LastError)
	}
	if st.FractionLost != 0 || st.PacketsLost != 0 {
		t.Errorf("loss %v / %d on loopback", st.FractionLost, st.PacketsLost)
	}
	if st.RTT < 0 || st.RTT > 100*time.Millisecond || st.Jitter > 50*time.Millisecond {
		t.Errorf("rtt %s, jitter %s: implausible on loopback", st.RTT, st.Jitter)
	}
}

// TestLinkICEServersFrom201: with OPTIONS refused (405) the ICE servers of
// the 201's Link header are applied to the PeerConnection and used by the
// next ICE gathering (an ICE restart).
func TestLinkICEServersFrom201(t *testing.T) {
	checkGoroutines(t)
	stunSrv := newSTUNServer(t, 0)
	srv := newServer(t)
	srv.SetOptionsAllowed(false)
	srv.SetLinks(fmt.Sprintf(`<stun:127.0.0.1:%d>; rel="ice-server"`, stunSrv.port()))
	p := startPublisher(t, uplink.PublisherConfig{URL: srv.Endpoint()})
	p.states.wait(t, uplink.StateConnected, 1, connectTimeout)
	if n := stunSrv.count(); n != 0 {
		t.Fatalf("%d STUN requests before the 201's Link header was known", n)
	}

	p.RestartICE()
	if err := srv.WaitFor(5*time.Second, func() bool { return stunSrv.count() > 0 }); err != nil {
		t.Fatal("the ICE restart did not use the Link ICE server of the 201")
	}
	if err := srv.WaitFor(5*time.Second, func() bool { return srv.Sessions()[0].ICERestarts == 1 }); err != nil {
		t.Fatal("no ICE restart on the server")
	}
	if posts := srv.RequestsOf(http.MethodPost); len(posts) != 1 || p.states.count(uplink.StateRetrying) != 0 {
		t.Errorf("%d POSTs, states %v: want one session throughout", len(posts), p.states.states)
	}
}

// TestICERestartAfterOutage: the server's UDP goes silent; after ICE has
// been disconnected for a few seconds the publisher restarts ICE by PATCH on
// the same session, and audio flows again once the network is back.
func TestICERestartAfterOutage(t *testing.T) {
	checkGoroutines(t)
	srv := newServer(t)
	p := startPublisher(t, uplink.PublisherConfig{URL: srv.Endpoint()})
	p.states.wait(t, uplink.StateConnected, 1, connectTimeout)
	pump(t, p, 0, nil)
	if err := srv.WaitPackets(10, 5*time.Second); err != nil {
		t.Fatal(err)
	}

	srv.SetFrozen(true)
	start := time.Now()
	if err := srv.WaitFor(15*time.Second, func() bool { return srv.Sessions()[0].ICERestarts == 1 }); err != nil {
		t.Fatal("no ICE restart during the outage")
	}
	t.Logf("ice restarted %s after the outage began", time.Since(start).Round(time.Millisecond))
	n := len(srv.SessionPackets(1))
	srv.SetFrozen(false)
	if err := srv.WaitFor(10*time.Second, func() bool { return len(srv.SessionPackets(1)) >= n+25 }); err != nil {
		t.Fatal("audio did not flow again after the outage")
	}
	if posts := srv.RequestsOf(http.MethodPost); len(posts) != 1 || p.states.count(uplink.StateRetrying) != 0 {
		t.Errorf("%d POSTs, states %v: want the same session throughout", len(posts), p.states.states)
	}
	if patches := srv.RequestsOf(http.MethodPatch); len(patches) != 1 || patches[0].IfMatch != "*" {
		t.Errorf("patches %+v, want one ICE restart", patches)
	}
}
