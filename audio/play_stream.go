package audio

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// streamDecoder is what a stream needs of a Decoder; tests use a fake.
type streamDecoder interface {
	Decode(payload []byte, pcm []float32) (int, error)
	DecodeFEC(next []byte, pcm []float32) (bool, error)
	Conceal(pcm []float32) error
	Reset() error
}

// StreamStats describes the play-out of one remote stream.
type StreamStats struct {
	JitterStats
	Buffered     time.Duration // audio received or decoded and not yet played
	Delay        time.Duration // smoothed play-out delay (see JitterBuffer)
	Target       time.Duration // the delay aimed at
	Concealed    uint64        // stretches filled by packet loss concealment
	FECRecovered uint64        // stretches recovered from the next packet's FEC
	DecodeErrors uint64        // packets the decoder refused (concealed instead)
	Level        Level         // of the last frame played, before volume
	// LastLatency is the time from the arrival of the last packet to
	// start playing to the return of the output write holding its first
	// sample. Add PlayerStats.OutputLatency for the time to the speaker.
	LastLatency time.Duration
}

// mark records where in the FIFO a packet's first sample is.
type mark struct {
	off     int // frames from the FIFO's start
	seq     uint16
	arrival time.Time
}

// stream is one remote stream in a Player: its jitter buffer, decoder and
// the decoded audio waiting to be played. Push and pull come from
// different goroutines; mu guards everything but lastLatency.
type stream struct {
	key    StreamKey
	format Format

	mu        sync.Mutex
	jb        *JitterBuffer
	dec       streamDecoder
	resetDec  bool      // a new sender: reset the decoder before its first packet
	fifo      []float32 // decoded, interleaved, not yet played
	marks     []mark
	scratch   []float32
	deferred  int // pulls a shortening waited for quieter audio
	maxDefer  int
	concealed uint64
	fec       uint64
	decErrs   uint64
	last      []float32 // the last frame played, for its level

	lastLatency atomic.Int64
}

func newStream(key StreamKey, f Format, jc JitterConfig, dec streamDecoder) *stream {
	return &stream{
		key:      key,
		format:   f,
		jb:       NewJitterBuffer(jc),
		dec:      dec,
		scratch:  make([]float32, MaxPacketSamples*f.SampleRate/rtpClock*f.Channels),
		maxDefer: max(1, 500/f.FrameMs),
	}
}

// ticksToFrames converts 48 kHz ticks to frames at the stream's rate.
func (s *stream) ticksToFrames(t int) int { return t * s.format.SampleRate / rtpClock }

// framesToTicks converts frames at the stream's rate to 48 kHz ticks.
func (s *stream) framesToTicks(f int) int { return f * rtpClock / s.format.SampleRate }

// push queues a packet; the payload is copied.
func (s *stream) push(seq uint16, ts uint32, payload []byte, arrival time.Time) PushResult {
	n, err := PacketSamples(payload)
	if err != nil {
		n = 0 // counted as invalid
	}
	p := Packet{Seq: seq, TS: ts, Samples: n, Payload: append([]byte(nil), payload...), Arrival: arrival}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushLocked(p)
}

// pushLocked queues p; s.mu must be held.
func (s *stream) pushLocked(p Packet) PushResult {
	r := s.jb.Push(p)
	if r == PushReset {
		s.resetDec = true
	}
	return r
}

// pull fills out with the stream's next frame, silence where it has none,
// and appends to played the packets whose first sample is in it.
func (s *stream) pull(now time.Time, out []float32, played []mark) []mark {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pullLocked(now, out, played)
}

// pullLocked implements pull; s.mu must be held.
func (s *stream) pullLocked(now time.Time, out []float32, played []mark) []mark {
	ch := s.format.Channels
	frames := len(out) / ch
	want := s.jb.Control(now, s.framesToTicks(len(s.fifo)/ch))
	s.fill(now, frames, false)
	if want != 0 {
		s.correct(now, want, frames)
		s.fill(now, frames, false)
	}
	n := copy(out, s.fifo)
	clear(out[n:])
	s.fifo = s.fifo[:copy(s.fifo, s.fifo[n:])]
	k := 0
	for _, m := range s.marks {
		if m.off < n/ch {
			played = append(played, m)
			continue
		}
		m.off -= n / ch
		s.marks[k] = m
		k++
	}
	s.marks = s.marks[:k]
	s.last = append(s.last[:0], out...)
	return played
}

// fill decodes until the FIFO holds frames, or nothing more is to be had;
// readyOnly stops before the buffer would have to wait (conceal an
// underrun) rather than hand out audio.
func (s *stream) fill(now time.Time, frames int, readyOnly bool) {
	for len(s.fifo)/s.format.Channels < frames {
		if readyOnly && !s.jb.Ready() {
			return
		}
		u := s.jb.Next(now)
		if u.Kind == UnitIdle {
			return
		}
		s.decode(u)
	}
}

// decode appends a unit's audio to the FIFO.
func (s *stream) decode(u Unit) {
	ch := s.format.Channels
	pcm := s.scratch[:s.ticksToFrames(u.Samples)*ch]
	switch u.Kind {
	case UnitPacket:
		if s.resetDec {
			s.resetDec = false
			_ = s.dec.Reset()
		}
		n, err := s.dec.Decode(u.Payload, s.scratch)
		if err != nil {
			s.decErrs++
			s.conceal(pcm)
			n = len(pcm) / ch
		}
		s.marks = append(s.marks, mark{off: len(s.fifo) / ch, seq: u.Seq, arrival: u.Arrival})
		pcm = s.scratch[:n*ch]
	case UnitLost:
		if u.Payload == nil {
			s.conceal(pcm)
		} else if ok, err := s.dec.DecodeFEC(u.Payload, pcm); err != nil {
			clear(pcm)
		} else if ok {
			s.fec++
		} else {
			s.concealed++ // no FEC in the next packet: libopus concealed
		}
	case UnitGap:
		s.conceal(pcm)
	}
	s.fifo = append(s.fifo, pcm...)
}

func (s *stream) conceal(pcm []float32) {
	s.concealed++
	if err := s.dec.Conceal(pcm); err != nil {
		clear(pcm)
	}
}

// correct shortens (want > 0 ticks at most) or lengthens (want < 0) the
// play-out by one waveform period at the FIFO's start, and reports it to
// the jitter buffer. A shortening waits up to half a second for audio
// below stretchQuiet unless the delay is far off. A lengthening without
// two periods of audio at hand conceals 2.5 ms at the end of the FIFO.
func (s *stream) correct(now time.Time, want, frames int) {
	ch, rate := s.format.Channels, s.format.SampleRate
	minL := int(stretchMinMs * float64(rate) / 1000)
	maxL := min(int(stretchMaxMs*float64(rate)/1000), s.ticksToFrames(absInt(want)))
	if maxL < minL {
		return
	}
	if want > 0 {
		s.fill(now, frames+2*maxL, true)
	} else {
		s.fill(now, 2*maxL, true)
	}
	maxL = min(maxL, len(s.fifo)/ch/2)
	if want > 0 {
		if maxL < minL {
			return
		}
		urgent := ticksDur(int64(want)) > 4*delayMargin
		if !urgent && s.deferred < s.maxDefer && rmsDBFS(s.fifo[:2*maxL*ch]) > stretchQuiet {
			s.deferred++
			return
		}
		l := bestPeriod(s.fifo, ch, minL, maxL)
		s.fifo = dropPeriod(s.fifo, ch, l)
		s.shiftMarks(l, -l)
		s.deferred = 0
		s.jb.Corrected(s.framesToTicks(l))
		return
	}
	if maxL < minL {
		pcm := s.scratch[:minL*ch]
		s.conceal(pcm)
		s.fifo = append(s.fifo, pcm...)
		s.jb.Corrected(-s.framesToTicks(minL))
		return
	}
	l := bestPeriod(s.fifo, ch, minL, maxL)
	s.fifo = repeatPeriod(s.fifo, ch, l)
	s.shiftMarks(l, l)
	s.jb.Corrected(-s.framesToTicks(l))
}

// shiftMarks moves the marks at or after frame from by delta frames.
func (s *stream) shiftMarks(from, delta int) {
	for i := range s.marks {
		if s.marks[i].off >= from {
			s.marks[i].off = max(0, s.marks[i].off+delta)
		}
	}
}

// stats returns the stream's statistics.
func (s *stream) stats() StreamStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statsLocked()
}

// statsLocked implements stats; s.mu must be held.
func (s *stream) statsLocked() StreamStats {
	return StreamStats{
		JitterStats:  s.jb.Stats(),
		Buffered:     s.jb.Buffered(s.framesToTicks(len(s.fifo) / s.format.Channels)),
		Delay:        s.jb.Delay(),
		Target:       s.jb.Target(),
		Concealed:    s.concealed,
		FECRecovered: s.fec,
		DecodeErrors: s.decErrs,
		Level:        MeasureLevel(s.last),
		LastLatency:  time.Duration(s.lastLatency.Load()),
	}
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// dbToGain converts decibels to a linear factor.
func dbToGain(db float64) float64 { return math.Pow(10, db/20) }
