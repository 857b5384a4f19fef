package uplink_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/rtcapi"
	"github.com/onair-dev/onair/uplink"
)

// startPublisherNet is startPublisher with network n instead of the test
// default (loopback always).
func startPublisherNet(t *testing.T, cfg uplink.PublisherConfig, n uplink.NetworkConfig) *publisher {
	t.Helper()
	states := &stateLog{}
	cfg.Network, cfg.RetryMin, cfg.RetryMax, cfg.RequestTimeout, cfg.OnState, cfg.Log = testSettings(states)
	cfg.Network = n
	p, err := uplink.NewPublisher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &publisher{Publisher: p, runner: startRunner(t, states, p.Run)}
}

// TestLoopbackAuto: without Loopback set, a publisher whose endpoint is on
// this machine gathers loopback candidates by itself and connects, by
// address and by the name localhost (webrtc.loopback: auto).
func TestLoopbackAuto(t *testing.T) {
	checkGoroutines(t)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			srv := newServer(t)
			url := strings.Replace(srv.Endpoint(), "127.0.0.1", host, 1)
			p := startPublisherNet(t, uplink.PublisherConfig{URL: url}, uplink.NetworkConfig{})
			pump(t, p, 0, nil)
			p.states.wait(t, uplink.StateConnected, 1, connectTimeout)
			if err := srv.WaitPackets(10, 5*time.Second); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestNoCandidates: an offer without any candidate is not sent: the
// attempt fails at once with ErrNoCandidates (here loopback is refused and
// no other interface is allowed), reported with StateRetrying.
func TestNoCandidates(t *testing.T) {
	checkGoroutines(t)
	for name, n := range map[string]uplink.NetworkConfig{
		"no loopback":      {NoLoopback: true},
		"interface absent": {Interfaces: []string{"absent0"}, NoLoopback: true},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t)
			p := startPublisherNet(t, uplink.PublisherConfig{URL: srv.Endpoint()}, n)
			p.states.wait(t, uplink.StateRetrying, 1, connectTimeout)
			err := p.states.errorsOf(uplink.StateRetrying)[0]
			if !errors.Is(err, uplink.ErrNoCandidates) {
				t.Fatalf("retrying with %v, want ErrNoCandidates", err)
			}
			if !strings.Contains(err.Error(), "ICE: no local candidates on any interface") {
				t.Errorf("error %q does not say why", err)
			}
			if posts := srv.RequestsOf("POST"); len(posts) != 0 {
				t.Errorf("%d offers without candidates were posted", len(posts))
			}
			if st := p.Stats(); !strings.Contains(st.LastError, "no local candidates") {
				t.Errorf("last error %q", st.LastError)
			}
		})
	}
}

// TestICEFailedBeforeConnected: when no candidate pair ever answers (the
// server's peer drops every packet), the attempt fails with ErrICEFailed
// once ICE gives up, instead of staying connecting.
func TestICEFailedBeforeConnected(t *testing.T) {
	checkGoroutines(t)
	srv := newServer(t)
	srv.SetFrozen(true)
	n := uplink.NetworkConfig{Interfaces: []string{"lo"}, Loopback: true,
		Timeouts: rtcapi.ICETimeouts{Disconnected: 300 * time.Millisecond, Failed: 300 * time.Millisecond, Keepalive: 100 * time.Millisecond}}
	p := startPublisherNet(t, uplink.PublisherConfig{URL: srv.Endpoint()}, n)
	p.states.wait(t, uplink.StateRetrying, 1, connectTimeout)
	err := p.states.errorsOf(uplink.StateRetrying)[0]
	if !errors.Is(err, uplink.ErrICEFailed) || !strings.Contains(err.Error(), "ICE failed: no candidate pair answered within") {
		t.Fatalf("retrying with %v, want ErrICEFailed saying no pair answered", err)
	}
	if p.states.count(uplink.StateConnected) != 0 {
		t.Error("connected through a frozen network")
	}
}
