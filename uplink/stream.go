package uplink

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// StreamIdleTimeout is how long a Subscriber's stream may send nothing
// before it is removed.
const StreamIdleTimeout = time.Second

// Sequence number jumps that make a stream restart (RFC 3550 §A.1): more
// than maxDropout ahead or more than maxMisorder behind.
const (
	maxDropout  = 3000
	maxMisorder = 100
)

// StreamID identifies one remote stream of a Subscriber. A new SSRC, or a
// restart of the sequence numbers, on a slot is a new stream: with the
// onair relay, a new host in that slot.
type StreamID struct {
	Slot int    // index of the receiving transceiver in the offer, from 0 (the onair relay's host slot)
	SSRC uint32 // synchronization source (RFC 3550 §3)
	N    uint64 // counts the streams of a Subscriber from 1; an ID is never reused
}

// String returns e.g. "slot 0 ssrc 1a2b3c4d #1".
func (id StreamID) String() string {
	return fmt.Sprintf("slot %d ssrc %08x #%d", id.Slot, id.SSRC, id.N)
}

// StreamEventKind says whether a stream was added or removed.
type StreamEventKind int

// Kinds of StreamEvent. The zero value is StreamEventUnknown.
const (
	// StreamEventUnknown is the zero value.
	StreamEventUnknown StreamEventKind = iota
	// StreamAdded: the first packet of the stream arrived.
	StreamAdded
	// StreamRemoved: the stream ended; StreamEvent.Reason says why.
	StreamRemoved
)

// String returns "added", "removed" or "unknown".
func (k StreamEventKind) String() string {
	switch k {
	case StreamAdded:
		return "added"
	case StreamRemoved:
		return "removed"
	}
	return "unknown"
}

// RemoveReason says why a stream was removed.
type RemoveReason int

// Reasons of a StreamRemoved event. The zero value, ReasonNone, goes with
// StreamAdded.
const (
	ReasonNone RemoveReason = iota
	// ReasonIdle: nothing arrived for StreamIdleTimeout.
	ReasonIdle
	// ReasonBye: the source sent an RTCP BYE (RFC 3550 §6.6).
	ReasonBye
	// ReasonReplaced: a new SSRC or a sequence number restart on the same
	// slot (RFC 3550 §A.1) began a new stream.
	ReasonReplaced
	// ReasonSessionEnded: the session ended (lost, replaced by a new offer,
	// or Run stopped); every stream is removed.
	ReasonSessionEnded
)

var reasonNames = [...]string{
	ReasonNone:         "none",
	ReasonIdle:         "idle",
	ReasonBye:          "bye",
	ReasonReplaced:     "replaced",
	ReasonSessionEnded: "session ended",
}

// String returns the lower-case name of r.
func (r RemoveReason) String() string {
	if r < 0 || int(r) >= len(reasonNames) {
		return "unknown"
	}
	return reasonNames[r]
}

// StreamEvent reports a stream added or removed (the stream-added and
// stream-removed events of the device's MQTT events topic).
type StreamEvent struct {
	Kind   StreamEventKind // StreamAdded or StreamRemoved
	Stream StreamID        // the stream
	// UID is the stream's host as the server names it: the uid in the
	// stream id of the slot's msid, or of the RTCP SDES CNAME that
	// announced the slot's host since (channel.HostStreamID, as the onair
	// relay sends them); "slot-N" for a server that names no host.
	UID    string
	Reason RemoveReason // why it was removed; ReasonNone for StreamAdded
}

// Sink consumes the RTP packets (Opus, RFC 7587) a Subscriber receives.
type Sink interface {
	// Packet is called from the read goroutine of the stream's slot, for
	// every packet in arrival order; pkt and its payload are valid only
	// during the call. The first packet of a stream may come before
	// OnStream reports it added; after OnStream reports it removed no
	// packet of it follows, except that a source sending after its own
	// RTCP BYE may race with that report. Packet must return quickly:
	// while it runs, the slot is not read.
	Packet(id StreamID, pkt *rtp.Packet, arrival time.Time)
}

// rxStream is one remote stream as its read goroutine tracks it: loss from
// sequence numbers (RFC 3550 §A.1, §A.3) and the interarrival jitter
// (§6.4.1, §A.8). Its other fields are shared with the session loop and
// Stats.
type rxStream struct {
	id    StreamID
	clock float64 // RTP clock rate in Hz

	maxSeq  uint16    // highest sequence number seen
	lost    int64     // packets missing below maxSeq, never negative
	prevAt  time.Time // arrival of the previous packet
	prevTS  uint32    // its RTP timestamp
	jitterT float64   // interarrival jitter in timestamp units

	jitter  atomic.Int64 // jitterT as a time.Duration, for Stats
	removed atomic.Bool  // the loop removed the stream (RTCP BYE)
	uid     string       // its host (StreamEvent.UID); the session loop's only
}

func newRxStream(id StreamID, pkt *rtp.Packet, at time.Time, clock float64) *rxStream {
	return &rxStream{id: id, clock: clock, maxSeq: pkt.SequenceNumber, prevAt: at, prevTS: pkt.Timestamp}
}

// track accounts for the packet pkt of the stream, arrived at at. It
// returns the change of the number of packets lost (a late packet fills a
// gap counted before) or, for a jump of the sequence numbers beyond
// maxDropout or maxMisorder, restart: pkt starts a new stream. Unlike the
// probation of RFC 3550 §A.1, one packet is enough: SRTP authenticates
// every packet, so a jump is a real restart, not noise.
func (st *rxStream) track(pkt *rtp.Packet, at time.Time) (lostDelta int64, restart bool) {
	switch d := pkt.SequenceNumber - st.maxSeq; {
	case d == 0: // duplicate
	case d < maxDropout: // in order, maybe after a gap
		lostDelta = int64(d) - 1
		st.maxSeq = pkt.SequenceNumber
	case d <= math.MaxUint16-maxMisorder:
		return 0, true
	default: // late
		if st.lost > 0 {
			lostDelta = -1
		}
	}
	st.lost += lostDelta
	// D(i,j) = (Rj - Ri) - (Sj - Si) in timestamp units; J += (|D| - J)/16.
	d := at.Sub(st.prevAt).Seconds()*st.clock - float64(int32(pkt.Timestamp-st.prevTS))
	st.jitterT += (math.Abs(d) - st.jitterT) / 16
	st.prevAt, st.prevTS = at, pkt.Timestamp
	st.jitter.Store(int64(st.jitterT / st.clock * float64(time.Second)))
	return lostDelta, false
}
