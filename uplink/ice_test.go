package uplink_test

import (
	"net"
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
	// Their size depends on the machine's load; the units are checked on
	// known reports (TestRTTFromReport, TestStatsReport).
	if st.RTT < 0 || st.Jitter < 0 {
		t.Errorf("rtt %s, jitter %s: negative", st.RTT, st.Jitter)
	}
}
