package control

import (
	"fmt"
	"log/slog"
	"testing"
)

// TestPendingWhileDisconnected: without a connection QoS 1 messages wait
// (the oldest dropped beyond the limit), a retained state replaces the
// one waiting, telemetry (QoS 0) is not kept.
func TestPendingWhileDisconnected(t *testing.T) {
	c, err := New(Config{Broker: "tcp://127.0.0.1:1", DeviceID: "d1", Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	c.maxPending = 5
	for i := range 3 {
		if err := c.PublishState(fmt.Appendf(nil, "s%d", i)); err != nil {
			t.Fatal(err)
		}
		if err := c.PublishTelemetry([]byte("t")); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 6 {
		if err := c.PublishEvent(fmt.Appendf(nil, "e%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, m := range c.pending {
		got = append(got, string(m.payload))
	}
	if fmt.Sprint(got) != "[e1 e2 e3 e4 e5]" || c.dropped != 2 {
		t.Errorf("pending %v, %d dropped; want [e1 e2 e3 e4 e5], 2", got, c.dropped)
	}
	c.pending, c.dropped = nil, 0
	_ = c.PublishEvent([]byte("e"))
	_ = c.PublishState([]byte("s1"))
	_ = c.PublishReply("", []byte("r"))
	_ = c.PublishState([]byte("s2"))
	got = got[:0]
	for _, m := range c.pending {
		got = append(got, m.topic+"="+string(m.payload))
	}
	if fmt.Sprint(got) != "[onair/d1/events=e onair/d1/reply=r onair/d1/state=s2]" {
		t.Errorf("pending %v", got)
	}
}
