package uplink_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hraban/opus"
	"github.com/onair-dev/onair/internal/waitfor"
	"github.com/onair-dev/onair/uplink"
	"github.com/pion/rtp"
)

// subscriber is a running Subscriber under test, with what it reported.
type subscriber struct {
	*uplink.Subscriber
	*runner
	sink   *sink
	events *streamLog
}

// startSubscriber starts Run of a subscriber with fast retries on loopback,
// recording its packets and stream events; the test's cleanup stops it.
func startSubscriber(t *testing.T, cfg uplink.SubscriberConfig) *subscriber {
	t.Helper()
	states := &stateLog{}
	cfg.Network, cfg.RetryMin, cfg.RetryMax, cfg.RequestTimeout, cfg.OnState, cfg.Log = testSettings(states)
	sk := &sink{streams: map[uplink.StreamID]*received{}}
	events := &streamLog{states: states}
	cfg.Sink, cfg.OnStream = sk, events.onStream
	sub, err := uplink.NewSubscriber(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &subscriber{Subscriber: sub, runner: startRunner(t, states, sub.Run), sink: sk, events: events}
}

// received is what a sink got of one stream.
type received struct {
	seqs     []uint16
	payloads [][]byte
	last     time.Time
}

// sink records the packets of every stream.
type sink struct {
	mu      sync.Mutex
	streams map[uplink.StreamID]*received
	order   []uplink.StreamID // by first packet
}

func (s *sink) Packet(id uplink.StreamID, pkt *rtp.Packet, arrival time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.streams[id]
	if r == nil {
		r = &received{}
		s.streams[id] = r
		s.order = append(s.order, id)
	}
	r.seqs = append(r.seqs, pkt.SequenceNumber)
	r.payloads = append(r.payloads, slices.Clone(pkt.Payload))
	r.last = arrival
}

// ids returns the streams that delivered packets, by first packet.
func (s *sink) ids() []uplink.StreamID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.order)
}

// get returns a copy of what stream id delivered.
func (s *sink) get(id uplink.StreamID) received {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.streams[id]; r != nil {
		return received{seqs: slices.Clone(r.seqs), payloads: slices.Clone(r.payloads), last: r.last}
	}
	return received{}
}

// streamEvent is an OnStream call with the state the subscriber was in.
type streamEvent struct {
	uplink.StreamEvent
	state uplink.State // the last state OnState reported before
	at    time.Time
}

// streamLog records OnStream calls.
type streamLog struct {
	states *stateLog
	mu     sync.Mutex
	events []streamEvent
}

func (l *streamLog) onStream(ev uplink.StreamEvent) {
	l.states.mu.Lock()
	st := uplink.StateUnknown
	if n := len(l.states.states); n > 0 {
		st = l.states.states[n-1]
	}
	l.states.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, streamEvent{StreamEvent: ev, state: st, at: time.Now()})
}

// of returns the events of kind k, oldest first.
func (l *streamLog) of(k uplink.StreamEventKind) []streamEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []streamEvent
	for _, ev := range l.events {
		if ev.Kind == k {
			out = append(out, ev)
		}
	}
	return out
}

// wait waits until there are at least n events of kind k and returns them.
func (l *streamLog) wait(t *testing.T, k uplink.StreamEventKind, n int, timeout time.Duration) []streamEvent {
	t.Helper()
	var evs []streamEvent
	if !waitfor.Poll(timeout, func() bool { evs = l.of(k); return len(evs) >= n }) {
		t.Fatalf("%d streams %s after %s, want %d: %+v", len(evs), k, timeout, n, evs)
	}
	return evs
}

// decode decodes Opus payloads to mono float32 at 48 kHz.
func decode(t *testing.T, payloads [][]byte) []float32 {
	t.Helper()
	dec, err := opus.NewDecoder(48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	var pcm []float32
	buf := make([]float32, 5760)
	for _, p := range payloads {
		n, err := dec.DecodeFloat32(p, buf)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		pcm = append(pcm, buf[:n]...)
	}
	return pcm
}
