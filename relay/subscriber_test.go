package relay

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/onair-dev/onair/token"
	"github.com/onair-dev/onair/uplink"
)

// streamRecorder records a Subscriber's stream events and packets.
type streamRecorder struct {
	mu      sync.Mutex
	events  []uplink.StreamEvent
	packets map[int]int // by slot
}

func (r *streamRecorder) onStream(ev uplink.StreamEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

// Packet implements uplink.Sink.
func (r *streamRecorder) Packet(id uplink.StreamID, _ *rtp.Packet, _ time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.packets[id.Slot]++
}

// find returns the first event of kind on slot, if any.
func (r *streamRecorder) find(kind uplink.StreamEventKind, slot int) (uplink.StreamEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.events {
		if ev.Kind == kind && ev.Stream.Slot == slot {
			return ev, true
		}
	}
	return uplink.StreamEvent{}, false
}

func (r *streamRecorder) count(slot int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.packets[slot]
}

// TestOnairSubscriber: onair's own WHEP client (uplink.Subscriber) against
// the relay: it gets a stream per host on the host's slot; when a host
// leaves, the relay's RTCP BYE ends that stream at once; an ICE restart by
// PATCH keeps the session; a host joining the freed slot is a new stream.
func TestOnairSubscriber(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{})
	const ch = "intercom"
	h1 := dialRawHostHz(t, tr.endpoint(kindHost, ch), mint(t, ch, "h1", token.RoleHost), 440)
	h2 := dialRawHostHz(t, tr.endpoint(kindHost, ch), mint(t, ch, "h2", token.RoleHost), 660)
	defer h2.close()

	rec := &streamRecorder{packets: map[int]int{}}
	sub, err := uplink.NewSubscriber(uplink.SubscriberConfig{
		URL: tr.endpoint(kindAudience, ch), Token: mint(t, ch, "sub", token.RoleAudience), Network: loopback,
		RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		OnStream: rec.onStream, Sink: rec, Log: testLog().With("client", "subscriber"),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	for slot := range 2 {
		waitFor(t, connectTimeout, "a stream on each host's slot", func() bool {
			_, ok := rec.find(uplink.StreamAdded, slot)
			return ok
		})
	}

	if r := do(t, http.MethodDelete, h1.location, "", "", ""); r.StatusCode != 200 {
		t.Fatalf("DELETE: %d", r.StatusCode)
	}
	h1.close()
	left := time.Now()
	waitFor(t, 10*time.Second, "slot 0's stream removed", func() bool {
		_, ok := rec.find(uplink.StreamRemoved, 0)
		return ok
	})
	if ev, _ := rec.find(uplink.StreamRemoved, 0); ev.Reason != uplink.ReasonBye {
		t.Errorf("slot 0 removed %s after %s, want by bye", ev.Reason, time.Since(left))
	}
	if _, ok := rec.find(uplink.StreamRemoved, 1); ok {
		t.Error("slot 1's stream removed too")
	}

	sessions := tr.Sessions()
	sub.RestartICE()
	waitFor(t, 5*time.Second, "the subscriber's ice restart", func() bool { return sub.Stats().ICERestarts == 1 })
	n := rec.count(1)
	waitFor(t, 10*time.Second, "40 packets on slot 1 after the ice restart", func() bool { return rec.count(1) >= n+40 })
	if st := sub.Stats(); st.Reconnects != 0 || tr.Sessions() != sessions {
		t.Errorf("after the ice restart: %+v, %d sessions (was %d)", st, tr.Sessions(), sessions)
	}

	h3 := dialRawHostHz(t, tr.endpoint(kindHost, ch), mint(t, ch, "h3", token.RoleHost), 880)
	defer h3.close()
	waitFor(t, 10*time.Second, "a new stream on slot 0", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		added := 0
		for _, ev := range rec.events {
			if ev.Kind == uplink.StreamAdded && ev.Stream.Slot == 0 {
				added++
			}
		}
		return added == 2
	})
}
