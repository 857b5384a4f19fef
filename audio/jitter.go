package audio

import (
	"math"
	"slices"
	"time"

	"github.com/onair-dev/onair/internal/defaults"
)

// Play-out delay defaults of a JitterBuffer.
const (
	// DefaultTargetDelay is the play-out delay on a calm network.
	DefaultTargetDelay = defaults.JitterDelay
	// DefaultMinDelay is the least delay the target may be set to.
	DefaultMinDelay = 20 * time.Millisecond
	// DefaultMaxDelay is the most the target grows to under jitter.
	DefaultMaxDelay = 200 * time.Millisecond
)

// Jitter buffer tuning.
const (
	rtpClock       = 48000                  // Opus RTP clock (RFC 7587 §4.1)
	jitterCapacity = 500                    // packets held at most
	transitWindow  = 2 * time.Second        // the fastest transit in this window is the reference
	relWindow      = 250                    // recent packets whose delay variation sets the target
	relQuantile    = 0.95                   // share of packets the target lets arrive in time
	delayMargin    = 5 * time.Millisecond   // above the needed delay; also the controller's dead band
	shrinkTime     = 4 * time.Second        // time constant of the target's return when calm
	lagSmoothing   = 0.1                    // weight of one pull's delay in the smoothed delay
	maxSeqJump     = 300                    // sequence jump taken for a new sender
	maxTransitJump = time.Second            // transit change taken for a new sender
	maxHold        = 100 * time.Millisecond // concealment while waiting before the stream stalls
)

// JitterConfig configures a JitterBuffer; zero fields take the defaults.
type JitterConfig struct {
	Target time.Duration // delay on a calm network; default 40 ms
	Min    time.Duration // least target; default 20 ms
	Max    time.Duration // most target; default 200 ms
	Frame  time.Duration // period of the pulls, one output frame; default 20 ms
}

func (c JitterConfig) withDefaults() JitterConfig {
	if c.Target == 0 {
		c.Target = DefaultTargetDelay
	}
	if c.Min == 0 {
		c.Min = DefaultMinDelay
	}
	if c.Max == 0 {
		c.Max = DefaultMaxDelay
	}
	if c.Max < c.Min {
		c.Max = c.Min
	}
	if c.Frame == 0 {
		c.Frame = 20 * time.Millisecond
	}
	c.Target = min(max(c.Target, c.Min), c.Max)
	return c
}

// Packet is one received RTP packet of a stream.
type Packet struct {
	Seq     uint16    // RTP sequence number
	TS      uint32    // RTP timestamp, 48 kHz
	Samples int       // duration in 48 kHz ticks (PacketSamples)
	Payload []byte    // kept by the buffer until played
	Arrival time.Time // when it was received
}

// PushResult says what a JitterBuffer did with a packet.
type PushResult int

// PushResult values.
const (
	PushUnknown   PushResult = iota
	PushAccepted             // buffered for play-out
	PushDuplicate            // already buffered or played: ignored
	PushLate                 // behind the play-out point: dropped
	PushInvalid              // no duration: dropped
	PushProbation            // a jump: held until the next packet confirms a new sender
	PushReset                // a confirmed new sender: the buffer restarted with it
)

// String returns the result's name.
func (r PushResult) String() string {
	names := []string{"unknown", "accepted", "duplicate", "late", "invalid", "probation", "reset"}
	if r < 0 || int(r) >= len(names) {
		return "unknown"
	}
	return names[r]
}

// UnitKind says what a Unit asks the decoder to do.
type UnitKind int

// UnitKind values.
const (
	UnitUnknown UnitKind = iota
	UnitIdle             // nothing to play yet (buffering) or any more (stalled): silence
	UnitPacket           // decode Payload
	UnitLost             // packets are missing: FEC from Payload, the packet after them, if set, else PLC
	UnitGap              // nothing was sent (DTX) or has come yet (underrun): PLC, nothing lost
)

// String returns the kind's name.
func (k UnitKind) String() string {
	names := []string{"unknown", "idle", "packet", "lost", "gap"}
	if k < 0 || int(k) >= len(names) {
		return "unknown"
	}
	return names[k]
}

// Unit is the next stretch of a stream to decode, in timestamp order.
type Unit struct {
	Kind    UnitKind
	Samples int       // 48 kHz ticks covered
	Payload []byte    // UnitPacket: the packet; UnitLost: the next packet, for FEC, or nil
	Seq     uint16    // UnitPacket: its sequence number
	Arrival time.Time // UnitPacket: when it arrived
}

// JitterStats counts what a JitterBuffer did.
type JitterStats struct {
	Received   uint64 // packets pushed
	Late       uint64 // arrived behind the play-out point, dropped
	Duplicates uint64 // ignored
	Invalid    uint64 // without a duration, dropped
	Lost       uint64 // never arrived in time
	Resets     uint64 // restarts for a new sender (a jump in sequence or timestamp)
	Underruns  uint64 // pulls that found the buffer empty while playing
	Overflows  uint64 // packets dropped because the buffer was full
	Dropped    uint64 // play-out shortened: delay above target (clock drift, jitter gone)
	Inserted   uint64 // play-out lengthened: delay below target (clock drift, jitter grown)
}

type jbPacket struct {
	seq, ts int64 // extended over wrap-arounds
	samples int64
	payload []byte
	arrival time.Time
}

type transit struct {
	at time.Time
	d  time.Duration
}

// JitterBuffer orders one stream's packets by timestamp and hands them out
// on demand at a play-out delay that adapts to the network.
//
// Timing: each packet's transit, arrival minus its timestamp as time, is
// compared with the fastest transit of the last 2 s (the reference, which
// follows clock drift). The target delay is the pull period plus the 95th
// percentile of the recent excess transit plus a margin, never below
// Target; it rises at once and returns with a 4 s time constant once the
// jitter has gone. The play-out delay is how long after its earliest
// expected arrival the audio being played was due; Control keeps it near
// the target by asking to shorten or lengthen the play-out, which absorbs
// the drift between the sender's clock and the sound card's.
//
// Losses: a packet missing when its turn comes is lost; the packet after
// it, if there, is offered for FEC. An empty buffer while playing is held
// (concealed without moving on) for up to 100 ms, so a late packet still
// plays; then the stream stalls and rebuffers to the target. Sequence
// numbers and timestamps are unwrapped; a jump by more than 300 packets or
// a one-second change in transit, confirmed by a second packet, restarts
// the buffer for a new sender.
//
// A JitterBuffer is not safe for concurrent use.
type JitterBuffer struct {
	cfg  JitterConfig
	pkts []jbPacket // by timestamp

	have           bool      // the timeline is anchored
	maxSeq, maxTS  int64     // highest extended sequence number and timestamp seen
	epoch          time.Time // arrival of the anchor packet
	ts0            int64     // its timestamp
	cand           *Packet   // first packet after a jump, on probation
	started        bool      // playing (not buffering or stalled)
	placed         bool      // next and lastSeq hold a play-out position
	next           int64     // timestamp of the next tick to hand out
	lastSeq        int64     // last sequence number handed out or given up
	lastDur        int64     // duration of the last packet handed out
	held           int64     // ticks concealed while waiting, not yet made up
	played         [64]int64 // recently played sequence numbers, for duplicates
	playedPos      int
	refs           []transit // increasing transits; refs[0] is the window minimum
	rel            []time.Duration
	relPos, relNew int
	need           time.Duration // delay the recent variation needs
	target         time.Duration
	targetAt       time.Time
	lag            float64 // smoothed play-out delay, ns
	lagValid       bool
	scratch        []time.Duration
	stats          JitterStats
}

// NewJitterBuffer returns an empty buffer.
func NewJitterBuffer(cfg JitterConfig) *JitterBuffer {
	cfg = cfg.withDefaults()
	j := &JitterBuffer{cfg: cfg, target: cfg.Target}
	for i := range j.played {
		j.played[i] = math.MinInt64
	}
	return j
}

// ticksDur converts 48 kHz ticks to a duration.
func ticksDur(t int64) time.Duration { return time.Duration(t * 62500 / 3) }

// durTicks converts a duration to 48 kHz ticks.
func durTicks(d time.Duration) int64 { return int64(d) * 3 / 62500 }

// Push adds a packet; the payload is kept, not copied.
func (j *JitterBuffer) Push(p Packet) PushResult {
	j.stats.Received++
	if p.Samples <= 0 || p.Samples > MaxPacketSamples {
		j.stats.Invalid++
		return PushInvalid
	}
	if !j.have {
		j.anchor(p)
	}
	pk := jbPacket{
		seq:     j.maxSeq + int64(int16(p.Seq-uint16(j.maxSeq))),
		ts:      j.maxTS + int64(int32(p.TS-uint32(j.maxTS))),
		samples: int64(p.Samples),
		payload: p.Payload,
		arrival: p.Arrival,
	}
	d := j.transit(pk)
	if abs64(pk.seq-j.maxSeq) > maxSeqJump || absDur(d-j.refs[0].d) > maxTransitJump {
		if c := j.cand; c != nil && p.Seq == c.Seq+1 && int32(p.TS-c.TS) > 0 &&
			int32(p.TS-c.TS) <= rtpClock && absDur(p.Arrival.Sub(c.Arrival)) < maxTransitJump {
			j.reset()
			j.Push(*c)
			j.Push(p)
			j.stats.Received -= 2
			j.stats.Resets++
			return PushReset
		}
		j.cand = &p
		return PushProbation
	}
	if j.cand != nil { // the jump was a stray packet
		j.cand = nil
		j.stats.Late++
	}
	if j.index(pk.seq) >= 0 || j.wasPlayed(pk.seq) {
		j.stats.Duplicates++
		return PushDuplicate
	}
	j.observe(pk.arrival, d)
	if j.placed && (pk.ts < j.next || pk.seq <= j.lastSeq) {
		j.stats.Late++
		return PushLate
	}
	i, _ := slices.BinarySearchFunc(j.pkts, pk.ts, func(a jbPacket, ts int64) int { return cmpInt64(a.ts, ts) })
	j.pkts = slices.Insert(j.pkts, i, pk)
	j.maxSeq, j.maxTS = max(j.maxSeq, pk.seq), max(j.maxTS, pk.ts)
	if len(j.pkts) > jitterCapacity {
		old := j.pkts[0]
		j.pkts = j.pkts[1:]
		j.stats.Overflows++
		if j.placed {
			j.next, j.lastSeq = max(j.next, old.ts+old.samples), max(j.lastSeq, old.seq)
		}
	}
	return PushAccepted
}

// anchor starts the timeline at p.
func (j *JitterBuffer) anchor(p Packet) {
	j.have = true
	j.maxSeq, j.maxTS = int64(p.Seq)+1<<16, int64(p.TS)+1<<32
	j.epoch, j.ts0 = p.Arrival, j.maxTS
	j.refs = append(j.refs[:0], transit{at: p.Arrival})
}

// reset forgets the sender: packets, timeline and timing; the target and
// counters stay.
func (j *JitterBuffer) reset() {
	j.pkts = j.pkts[:0]
	j.have, j.cand, j.started, j.placed, j.held = false, nil, false, false, 0
	j.rel, j.relPos, j.lagValid = j.rel[:0], 0, false
	for i := range j.played {
		j.played[i] = math.MinInt64
	}
}

// transit returns p's arrival minus its timestamp, both from the anchor.
func (j *JitterBuffer) transit(p jbPacket) time.Duration {
	return p.arrival.Sub(j.epoch) - ticksDur(p.ts-j.ts0)
}

// expected returns when a packet with timestamp ts arrives at the earliest.
func (j *JitterBuffer) expected(ts int64) time.Time {
	return j.epoch.Add(j.refs[0].d + ticksDur(ts-j.ts0))
}

// observe records a packet's transit d and updates the needed delay.
func (j *JitterBuffer) observe(at time.Time, d time.Duration) {
	for len(j.refs) > 0 && j.refs[len(j.refs)-1].d >= d {
		j.refs = j.refs[:len(j.refs)-1]
	}
	j.refs = append(j.refs, transit{at: at, d: d})
	for len(j.refs) > 1 && at.Sub(j.refs[0].at) > transitWindow {
		j.refs = j.refs[1:]
	}
	rel := d - j.refs[0].d
	if len(j.rel) < relWindow {
		j.rel = append(j.rel, rel)
	} else {
		j.rel[j.relPos] = rel
		j.relPos = (j.relPos + 1) % relWindow
	}
	// The quantile is recomputed when it may rise, and now and then to let
	// it fall: sorting 250 values for every packet would be wasteful.
	if j.relNew++; rel > j.need || j.relNew >= 25 {
		j.relNew = 0
		j.scratch = append(j.scratch[:0], j.rel...)
		slices.Sort(j.scratch)
		j.need = j.scratch[int(relQuantile*float64(len(j.scratch)-1))]
		j.updateTarget(at)
	}
}

// updateTarget raises the target at once to what the jitter needs, or
// lets it sink towards it.
func (j *JitterBuffer) updateTarget(now time.Time) {
	want := min(max(j.cfg.Target, j.cfg.Frame+j.need+delayMargin), j.cfg.Max)
	dt := now.Sub(j.targetAt)
	if j.targetAt.IsZero() || dt < 0 {
		dt = 0
	}
	j.targetAt = now
	if want >= j.target {
		j.target = want
		return
	}
	j.target = want + time.Duration(float64(j.target-want)*math.Exp(-dt.Seconds()/shrinkTime.Seconds()))
}

// Control is called once per pull with the audio decoded but not yet
// played (pending, in 48 kHz ticks). It returns the most the play-out may
// be shortened (positive ticks: the delay is above target) or lengthened
// (negative) to come back into the dead band, or 0. Report what was done
// with Corrected.
func (j *JitterBuffer) Control(now time.Time, pending int) int {
	j.updateTarget(now)
	if !j.started || j.held > 0 {
		return 0
	}
	lag := float64(now.Sub(j.expected(j.next - int64(pending))))
	if !j.lagValid {
		j.lag, j.lagValid = lag, true
	}
	j.lag += lagSmoothing * (lag - j.lag)
	err := time.Duration(j.lag) - j.target
	switch {
	case err > delayMargin:
		return int(durTicks(err + delayMargin))
	case err < -delayMargin:
		return -int(durTicks(-err + delayMargin))
	}
	return 0
}

// Corrected reports that the play-out was shortened by ticks (positive) or
// lengthened (negative).
func (j *JitterBuffer) Corrected(ticks int) {
	j.lag -= float64(ticksDur(int64(ticks)))
	switch {
	case ticks > 0:
		j.stats.Dropped++
	case ticks < 0:
		j.stats.Inserted++
	}
}

// Ready reports whether Next would hand out audio without waiting: a
// packet or a gap before one.
func (j *JitterBuffer) Ready() bool { return j.started && len(j.pkts) > 0 }

// Next returns the next stretch to decode; now decides when buffering ends.
func (j *JitterBuffer) Next(now time.Time) Unit {
	if !j.started {
		if len(j.pkts) == 0 || now.Before(j.expected(j.pkts[0].ts).Add(j.target)) {
			return Unit{Kind: UnitIdle}
		}
		// After a long stall, skip a backlog more than Max overdue; the
		// controller takes care of less.
		for len(j.pkts) > 1 && !now.Before(j.expected(j.pkts[1].ts).Add(j.target+j.cfg.Max)) {
			j.pkts = j.pkts[1:]
			j.stats.Late++
		}
		p := j.pkts[0]
		if j.placed && p.seq > j.lastSeq+1 {
			j.stats.Lost += uint64(p.seq - j.lastSeq - 1)
		}
		j.started, j.placed, j.held, j.lagValid = true, true, 0, false
		j.next, j.lastSeq = p.ts, p.seq-1
		if j.lastDur == 0 {
			j.lastDur = p.samples
		}
	}
	for len(j.pkts) > 0 && j.pkts[0].ts+j.pkts[0].samples <= j.next {
		j.pkts = j.pkts[1:] // wholly played already
	}
	if len(j.pkts) == 0 {
		if ticksDur(j.held) >= maxHold {
			j.started, j.held = false, 0
			return Unit{Kind: UnitIdle}
		}
		j.held += j.lastDur
		j.stats.Underruns++
		return Unit{Kind: UnitGap, Samples: int(j.lastDur)}
	}
	p := j.pkts[0]
	if j.held > 0 { // what was concealed while waiting covers part of the gap
		if gap := p.ts - j.next; gap > 0 {
			j.next += min(gap, j.held)
		}
		j.held = 0
	}
	if p.ts <= j.next {
		if p.seq > j.lastSeq+1 { // a gap made up by concealment while waiting
			j.stats.Lost += uint64(p.seq - j.lastSeq - 1)
		}
		j.pkts = j.pkts[1:]
		j.next = max(j.next, p.ts+p.samples)
		j.lastSeq, j.lastDur = p.seq, p.samples
		j.played[j.playedPos] = p.seq
		j.playedPos = (j.playedPos + 1) % len(j.played)
		return Unit{Kind: UnitPacket, Samples: int(p.samples), Payload: p.payload, Seq: uint16(p.seq), Arrival: p.arrival}
	}
	gap := p.ts - j.next
	n := min(gap, j.lastDur)
	j.next += n
	if p.seq == j.lastSeq+1 {
		return Unit{Kind: UnitGap, Samples: int(n)}
	}
	u := Unit{Kind: UnitLost, Samples: int(n)}
	if n == gap {
		u.Payload = p.payload
		j.stats.Lost += uint64(p.seq - j.lastSeq - 1)
		j.lastSeq = p.seq - 1
	}
	return u
}

// Stats returns the counters.
func (j *JitterBuffer) Stats() JitterStats { return j.stats }

// Target returns the current target delay.
func (j *JitterBuffer) Target() time.Duration { return j.target }

// Delay returns the smoothed play-out delay, 0 when not playing.
func (j *JitterBuffer) Delay() time.Duration {
	if !j.started || !j.lagValid {
		return 0
	}
	return time.Duration(j.lag)
}

// Buffered returns the audio held: packets waiting plus pending ticks
// decoded but not yet played.
func (j *JitterBuffer) Buffered(pending int) time.Duration {
	t := int64(pending)
	if n := len(j.pkts); n > 0 {
		from := j.pkts[0].ts
		if j.started {
			from = j.next
		}
		last := j.pkts[n-1]
		t += max(0, last.ts+last.samples-from)
	}
	return ticksDur(t)
}

// index returns the position of the packet with sequence number seq, or -1.
func (j *JitterBuffer) index(seq int64) int {
	for i := range j.pkts {
		if j.pkts[i].seq == seq {
			return i
		}
	}
	return -1
}

func (j *JitterBuffer) wasPlayed(seq int64) bool { return slices.Contains(j.played[:], seq) }

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
