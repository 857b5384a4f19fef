// Package relaytest serves the embedded relay for tests: anonymous, on a
// loopback port, with loopback-only ICE, stopped when the test ends.
package relaytest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/onair-dev/onair/relay"
	"github.com/onair-dev/onair/uplink"
)

// Loopback gathers ICE candidates on the loopback interface only.
var Loopback = uplink.NetworkConfig{Interfaces: []string{"lo"}, Loopback: true}

// Start serves an anonymous relay on 127.0.0.1 until t ends and returns
// its base URL (http://127.0.0.1:port).
func Start(t testing.TB) string {
	t.Helper()
	r, err := relay.New(relay.Config{AllowAnonymous: true, Network: Loopback, DisconnectTimeout: time.Second}, nil)
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
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return "http://" + ln.Addr().String()
}
