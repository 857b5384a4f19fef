package uplink

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// feed tracks packets with the given sequence numbers, 20 ms of timestamp
// apart by sequence, arriving every 20 ms in the order given; it returns
// the total loss and whether a packet restarted the stream.
func feed(st *rxStream, t0 time.Time, seqs ...uint16) (lost int64, restarted bool) {
	for i, seq := range seqs {
		pkt := &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: uint32(seq) * 960}}
		d, r := st.track(pkt, t0.Add(time.Duration(i+1)*20*time.Millisecond))
		lost += d
		restarted = restarted || r
	}
	return lost, restarted
}

func TestRxStreamLoss(t *testing.T) {
	t0 := time.Now()
	for _, tc := range []struct {
		name    string
		first   uint16
		seqs    []uint16
		lost    int64
		restart bool
	}{
		{"in order", 10, []uint16{11, 12, 13}, 0, false},
		{"gap", 10, []uint16{11, 14, 15}, 2, false},
		{"late fills a gap", 10, []uint16{12, 11, 13}, 0, false},
		{"duplicate", 10, []uint16{11, 11, 12}, 0, false},
		{"wrap", 65534, []uint16{65535, 0, 2}, 1, false},
		{"very late is not negative", 10, []uint16{11, 5}, 0, false},
		{"jump ahead restarts", 10, []uint16{11, 10 + maxDropout + 5}, 0, true},
		{"jump behind restarts", 1000, []uint16{1001, 1000 - maxMisorder - 5}, 0, true},
	} {
		first := &rtp.Packet{Header: rtp.Header{SequenceNumber: tc.first, Timestamp: uint32(tc.first) * 960}}
		st := newRxStream(StreamID{}, first, t0, opusClockRate)
		lost, restart := feed(st, t0, tc.seqs...)
		if lost != tc.lost || restart != tc.restart || st.lost < 0 {
			t.Errorf("%s: lost %d restart %v (stream lost %d), want %d %v", tc.name, lost, restart, st.lost, tc.lost, tc.restart)
		}
	}
}

func TestRxStreamJitter(t *testing.T) {
	t0 := time.Now()
	pkt := func(seq uint16) *rtp.Packet {
		return &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: uint32(seq) * 960}}
	}
	steady := newRxStream(StreamID{}, pkt(0), t0, opusClockRate)
	for i := uint16(1); i < 100; i++ {
		steady.track(pkt(i), t0.Add(time.Duration(i)*20*time.Millisecond))
	}
	if j := time.Duration(steady.jitter.Load()); j != 0 {
		t.Errorf("steady arrivals: jitter %s, want 0", j)
	}
	// Arrivals alternately 5 ms late and on time: |D| is 5 ms every packet,
	// so J converges to 5 ms (RFC 3550 §6.4.1).
	shaky := newRxStream(StreamID{}, pkt(0), t0, opusClockRate)
	for i := uint16(1); i < 400; i++ {
		at := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		if i%2 == 1 {
			at = at.Add(5 * time.Millisecond)
		}
		shaky.track(pkt(i), at)
	}
	if j := time.Duration(shaky.jitter.Load()); j < 4900*time.Microsecond || j > 5100*time.Microsecond {
		t.Errorf("alternating 5 ms: jitter %s, want ~5ms", j)
	}
}

func TestNewSubscriberValidates(t *testing.T) {
	for _, cfg := range []SubscriberConfig{
		{URL: ""},
		{URL: "ftp://x/whep"},
		{URL: "http://x/whep", Slots: -1},
		{URL: "http://x/whep", Slots: maxSlots + 1},
		{URL: "http://x/whep", RetryMin: time.Second, RetryMax: time.Millisecond},
		{URL: "http://x/whep", ICEServers: []ICEServer{{URLs: []string{"http://not-stun"}}}},
	} {
		if _, err := NewSubscriber(cfg); err == nil || !strings.HasPrefix(err.Error(), "uplink: ") {
			t.Errorf("NewSubscriber(%+v) = %v, want an uplink error", cfg, err)
		}
	}
	sub, err := NewSubscriber(SubscriberConfig{URL: "https://x/whep"})
	if err != nil {
		t.Fatal(err)
	}
	if sub.cfg.Slots != DefaultSlots || sub.c.cfg.RetryMin != DefaultRetryMin || sub.c.cfg.RequestTimeout != DefaultRequestTimeout {
		t.Errorf("defaults not applied: %+v, %+v", sub.cfg, sub.c.cfg)
	}
	if st := sub.Stats(); st.State != StateUnknown || st.Streams != 0 || st.PacketsReceived != 0 {
		t.Errorf("stats before Run: %+v", st)
	}
}

// TestRetryAfter409: a WHEP endpoint with nothing published yet answers 409
// with Retry-After (draft-ietf-wish-whep-03 §4.2); the wait is honoured.
func TestRetryAfter409(t *testing.T) {
	resp := &http.Response{StatusCode: http.StatusConflict, Header: http.Header{"Retry-After": {"3"}}}
	if d := retryAfter(newStatusError(resp, "")); d != 3*time.Second {
		t.Errorf("retry after %s, want 3s", d)
	}
}

func TestStreamNames(t *testing.T) {
	id := StreamID{Slot: 2, SSRC: 0xabc, N: 7}
	if got := id.String(); got != "slot 2 ssrc 00000abc #7" {
		t.Errorf("StreamID.String() = %q", got)
	}
	for k, want := range map[StreamEventKind]string{StreamEventUnknown: "unknown", StreamAdded: "added", StreamRemoved: "removed", 9: "unknown"} {
		if got := k.String(); got != want {
			t.Errorf("kind %d: %q, want %q", k, got, want)
		}
	}
	for r, want := range map[RemoveReason]string{ReasonNone: "none", ReasonIdle: "idle", ReasonBye: "bye",
		ReasonReplaced: "replaced", ReasonSessionEnded: "session ended", -1: "unknown", 9: "unknown"} {
		if got := r.String(); got != want {
			t.Errorf("reason %d: %q, want %q", r, got, want)
		}
	}
}
