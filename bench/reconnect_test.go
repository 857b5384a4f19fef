package bench

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/onair-dev/onair/broker"
)

// BenchmarkBrokerBack measures, on loopback, the time from the embedded
// broker listening again after a short restart (1 s down) to the board's
// retained state being on it again, over five restarts in a row: the
// reconnection pause must not grow from one restart to the next.
func BenchmarkBrokerBack(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	start := func(addr string) (string, context.CancelFunc) {
		br, err := broker.New(broker.Config{Listen: addr, Log: quiet})
		if err != nil {
			b.Fatal(err)
		}
		bctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = br.Run(bctx) }()
		return br.Addr(), func() { stop(); <-done }
	}
	addr, stop := start("127.0.0.1:0")
	startAgent(ctx, b, &wg, "tcp://"+addr, "bench", benchSession("", "default"))
	waitState(b, addr) // connected once

	var back []time.Duration
	for range 5 {
		stop()
		time.Sleep(time.Second)
		var at time.Time
		addr, stop = start(addr)
		at = time.Now()
		waitState(b, addr)
		back = append(back, time.Since(at))
	}
	stop()
	sorted := append([]time.Duration(nil), back...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	fmt.Printf("\nbroker restarted 5 times (1 s down each), broker back → state republished:\n")
	fmt.Printf("  %v; median %s, max %s (goal ≤ 2 s)\n\n", back, sorted[len(sorted)/2].Round(time.Millisecond), sorted[len(sorted)-1].Round(time.Millisecond))
	b.ReportMetric(float64(sorted[len(sorted)/2].Milliseconds()), "back-median-ms")
	b.ReportMetric(float64(sorted[len(sorted)-1].Milliseconds()), "back-max-ms")
}

// waitState waits until the board's retained state is on the broker at
// addr (a fresh broker has it only once the board has republished it).
func waitState(b *testing.B, addr string) {
	got := make(chan struct{}, 1)
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("watch").SetProtocolVersion(4)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	defer c.Disconnect(0)
	tok := c.Subscribe("onair/bench/state", 1, func(mqtt.Client, mqtt.Message) {
		select {
		case got <- struct{}{}:
		default:
		}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	select {
	case <-got:
	case <-time.After(60 * time.Second):
		b.Fatal("no state within 60 s")
	}
}
