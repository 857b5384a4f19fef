package daemon

import (
	"testing"

	"github.com/onair-dev/onair/config"
)

// TestNetworkLoopback: webrtc.loopback maps onto the peers' network
// selection; with auto, the relay gathers on loopback when it listens
// there.
func TestNetworkLoopback(t *testing.T) {
	cfg := config.Defaults()
	for mode, want := range map[config.Loopback][2]bool{
		config.LoopbackAuto: {false, false}, config.LoopbackAlways: {true, false}, config.LoopbackNever: {false, true},
	} {
		cfg.WebRTC.Loopback = mode
		if n := Network(&cfg); n.Loopback != want[0] || n.NoLoopback != want[1] {
			t.Errorf("loopback %s: Loopback %v, NoLoopback %v; want %v", mode, n.Loopback, n.NoLoopback, want)
		}
	}
	cfg.WebRTC.Loopback = config.LoopbackAuto
	cfg.Relay.Listen = "127.0.0.1:8080"
	if !relayNetwork(&cfg).Loopback {
		t.Error("relay listening on 127.0.0.1 with loopback auto: no loopback candidates")
	}
	cfg.WebRTC.Loopback = config.LoopbackNever
	if relayNetwork(&cfg).Loopback {
		t.Error("relay with loopback false: loopback candidates")
	}
}
