package audio

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/dsp"
)

// toneDecoder is a fake decoder: every packet, FEC and concealment is the
// next stretch of a 400 Hz sine (120 samples a period at 48 kHz), so the
// stream's period splicing has a waveform to work on, at no decoding cost.
type toneDecoder struct {
	ch                  int
	pos                 int
	table               []float32
	decodes, fecs, plcs int
	resets              int
	fecFallback         bool
}

func newToneDecoder(ch int) *toneDecoder {
	d := &toneDecoder{ch: ch, table: make([]float32, 120)}
	for i := range d.table {
		d.table[i] = float32(0.5 * math.Sin(2*math.Pi*float64(i)/120))
	}
	return d
}

func (d *toneDecoder) fill(pcm []float32) {
	if d.ch == 1 {
		for len(pcm) > 0 {
			n := copy(pcm, d.table[d.pos:])
			pcm = pcm[n:]
			d.pos = (d.pos + n) % len(d.table)
		}
		return
	}
	for i := 0; i < len(pcm); i += d.ch {
		v := d.table[d.pos]
		d.pos = (d.pos + 1) % len(d.table)
		for c := 0; c < d.ch; c++ {
			pcm[i+c] = v
		}
	}
}

func (d *toneDecoder) Decode(payload []byte, pcm []float32) (int, error) {
	n, err := PacketSamples(payload)
	if err != nil {
		return 0, err
	}
	d.decodes++
	d.fill(pcm[:n*d.ch])
	return n, nil
}

func (d *toneDecoder) DecodeFEC(next []byte, pcm []float32) (bool, error) {
	d.fill(pcm)
	if d.fecFallback {
		d.plcs++
		return false, nil
	}
	d.fecs++
	return true, nil
}

func (d *toneDecoder) Conceal(pcm []float32) error { d.plcs++; d.fill(pcm); return nil }
func (d *toneDecoder) Reset() error                { d.resets++; return nil }

// simConfig describes a simulated sender, network and sound card.
type simConfig struct {
	duration time.Duration
	speed    float64                   // sender clock over the card's: 1.001 is 0.1 % fast
	delay    func(i int) time.Duration // network delay of packet i
	lost     func(i int) bool
	every    time.Duration // how often observe is called
	observe  func(now time.Time, st StreamStats)
	record   func(now time.Time, frame []float32) // every frame played, if set
}

type arrival struct {
	at  time.Time
	seq int
}

type arrivals []arrival

func (a arrivals) Len() int           { return len(a) }
func (a arrivals) Less(i, j int) bool { return a[i].at.Before(a[j].at) }
func (a arrivals) Swap(i, j int)      { a[i], a[j] = a[j], a[i] }
func (a *arrivals) Push(x any)        { *a = append(*a, x.(arrival)) }
func (a *arrivals) Pop() any {
	old := *a
	x := old[len(old)-1]
	*a = old[:len(old)-1]
	return x
}

// simulate runs a stream of 20 ms packets against a 20 ms pull clock on
// fake time and returns the stream; the output is checked for holes.
func simulate(t *testing.T, cfg simConfig) (*stream, *toneDecoder) {
	t.Helper()
	f := mono48()
	dec := newToneDecoder(1)
	s := newStream("sim", f, JitterConfig{}, dec)
	frame := f.FrameDuration()
	sendPeriod := time.Duration(float64(frame) / cfg.speed)
	var q arrivals
	sent := 0
	out := make([]float32, f.FrameLen())
	var nextObs time.Time
	playing := false
	payload := fakePayload(20, 0)
	for now := jt0; now.Sub(jt0) < cfg.duration; now = now.Add(frame) {
		// The sender has produced every packet due by now (and a little
		// ahead, so arrivals within the next pull are queued too).
		for ; jt0.Add(time.Duration(sent) * sendPeriod).Before(now.Add(frame)); sent++ {
			if cfg.lost != nil && cfg.lost(sent) {
				continue
			}
			d := time.Duration(0)
			if cfg.delay != nil {
				d = cfg.delay(sent)
			}
			heap.Push(&q, arrival{at: jt0.Add(time.Duration(sent)*sendPeriod + d), seq: sent})
		}
		for len(q) > 0 && !q[0].at.After(now) {
			a := heap.Pop(&q).(arrival)
			s.pushLocked(Packet{Seq: uint16(a.seq), TS: uint32(a.seq * 960), Samples: 960, Payload: payload, Arrival: a.at})
		}
		s.pullLocked(now, out, nil) // one goroutine: no locking (it slows -race tenfold)
		if out[0] != 0 || out[len(out)-1] != 0 {
			playing = true
		} else if playing && cfg.lost == nil {
			t.Fatalf("%v: a hole in the output", now.Sub(jt0))
		}
		if cfg.record != nil {
			cfg.record(now, out)
		}
		if cfg.observe != nil && !now.Before(nextObs) {
			cfg.observe(now, s.statsLocked())
			nextObs = now.Add(cfg.every)
		}
	}
	return s, dec
}

// Over a simulated hour, a sender 0.1 % fast or slow against the sound
// card (3.6 s of drift) leaves the delay at the target and the buffer
// bounded: the stream drops or repeats periods to follow.
func TestStreamClockDriftOverAnHour(t *testing.T) {
	for _, speed := range []float64{1.001, 0.999} {
		t.Run(map[bool]string{true: "sender fast", false: "sender slow"}[speed > 1], func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(1, 2))
			var minBuf, maxBuf, minDelay, maxDelay time.Duration = time.Hour, 0, time.Hour, 0
			var window []float32 // 20 s of output, with a dozen corrections
			s, dec := simulate(t, simConfig{
				record: func(now time.Time, frame []float32) {
					if d := now.Sub(jt0); d >= 30*time.Minute && d < 30*time.Minute+20*time.Second {
						window = append(window, frame...)
					}
				},
				duration: time.Hour,
				speed:    speed,
				delay:    func(int) time.Duration { return time.Duration(rng.Float64() * float64(2*time.Millisecond)) },
				every:    100 * time.Millisecond,
				observe: func(now time.Time, st StreamStats) {
					if now.Sub(jt0) < 5*time.Second {
						return
					}
					minBuf, maxBuf = min(minBuf, st.Buffered), max(maxBuf, st.Buffered)
					minDelay, maxDelay = min(minDelay, st.Delay), max(maxDelay, st.Delay)
				},
			})
			st := s.stats()
			t.Logf("speed %.3f: buffered %v … %v, delay %v … %v, target %v; dropped %d, inserted %d, late %d, lost %d, concealed %d",
				speed, minBuf, maxBuf, minDelay, maxDelay, st.Target, st.Dropped, st.Inserted, st.Late, st.Lost, dec.plcs)
			if minDelay < 30*time.Millisecond || maxDelay > 50*time.Millisecond {
				t.Errorf("delay %v … %v, want 40 ms ± 10", minDelay, maxDelay)
			}
			if minBuf < 0 || maxBuf > 70*time.Millisecond {
				t.Errorf("buffered %v … %v, want within 0 … 70 ms", minBuf, maxBuf)
			}
			// The tone's periods are cut or repeated whole: it stays clean.
			thdn := dsp.THDN(window, 48000, 400)
			t.Logf("speed %.3f: THD+N of 20 s of output %.1f dB, largest step %.4f (the tone's own %.4f)", speed, thdn, maxStep(window), maxStep(newToneDecoder(1).table))
			if thdn > -50 || maxStep(window) > 1.01*maxStep(newToneDecoder(1).table) {
				t.Errorf("output spoiled by the corrections: THD+N %.1f dB, largest step %.4f", thdn, maxStep(window))
			}
			if st.Late != 0 || st.Lost != 0 || st.Underruns != 0 {
				t.Errorf("late %d, lost %d, underruns %d; want none", st.Late, st.Lost, st.Underruns)
			}
			// 3.6 s corrected by periods of 2.5 to 15 ms.
			if speed > 1 && (st.Dropped < 240 || st.Inserted > st.Dropped/10) {
				t.Errorf("dropped %d, inserted %d for a fast sender", st.Dropped, st.Inserted)
			}
			if speed < 1 && (st.Inserted < 240 || st.Dropped > st.Inserted/10) {
				t.Errorf("dropped %d, inserted %d for a slow sender", st.Dropped, st.Inserted)
			}
		})
	}
}

// Under 0 … 80 ms of random network delay the target grows so that few
// packets are late; when the network calms down it returns to 40 ms.
func TestStreamAdaptsToJitter(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const jittery = 30 * time.Second
	var peak, atCalmEnd time.Duration
	var lateJittery uint64
	s, _ := simulate(t, simConfig{
		duration: jittery + 40*time.Second,
		speed:    1,
		delay: func(i int) time.Duration {
			if time.Duration(i)*20*time.Millisecond < jittery {
				return time.Duration(rng.Float64() * float64(80*time.Millisecond))
			}
			return 0
		},
		every: 100 * time.Millisecond,
		observe: func(now time.Time, st StreamStats) {
			peak = max(peak, st.Target)
			if now.Sub(jt0) < jittery {
				lateJittery = st.Late
			}
			atCalmEnd = st.Delay
		},
	})
	st := s.stats()
	t.Logf("target peak %v, late %d of %d while jittery; after 40 s calm target %v, delay %v",
		peak, lateJittery, int(jittery/(20*time.Millisecond)), st.Target, atCalmEnd)
	if peak < 90*time.Millisecond || peak > DefaultMaxDelay {
		t.Errorf("target peaked at %v, want 90 … 200 ms", peak)
	}
	if limit := uint64(jittery / (20 * time.Millisecond) / 20); lateJittery > limit {
		t.Errorf("%d late packets while jittery, want at most %d (5 %%)", lateJittery, limit)
	}
	if st.Target > 42*time.Millisecond {
		t.Errorf("target %v after the network calmed down, want back at 40 ms", st.Target)
	}
	if atCalmEnd < 34*time.Millisecond || atCalmEnd > 48*time.Millisecond {
		t.Errorf("delay %v after the network calmed down, want about 40 ms", atCalmEnd)
	}
}
