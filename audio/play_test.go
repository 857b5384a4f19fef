package audio

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/dsp"
)

// sent is one packet as a test sender puts it on the network.
type sent struct {
	key     StreamKey
	seq     uint16
	ts      uint32
	payload []byte
	at      time.Duration // arrival, from the start
}

// netConfig shapes a simulated network path.
type netConfig struct {
	jitter time.Duration // arrival delay uniform in ±jitter (on top of jitter, so never early)
	loss   float64       // share of packets lost
	seed   uint64
}

// schedule puts one stream's packets on a network: packet i is sent when
// its frame has been captured, (i+1) frames after the start, and arrives
// with jitter unless lost. The result is sorted by arrival.
func schedule(key StreamKey, packets [][]byte, seq0 uint16, ts0 uint32, nc netConfig) []sent {
	rng := rand.New(rand.NewPCG(nc.seed, 99))
	var out []sent
	ts := ts0
	for i, p := range packets {
		n, _ := PacketSamples(p)
		sendAt := ticksDur(int64(ts-ts0) + int64(n))
		if rng.Float64() >= nc.loss {
			j := time.Duration((2*rng.Float64() - 1) * float64(nc.jitter))
			out = append(out, sent{key: key, seq: seq0 + uint16(i), ts: ts, payload: p, at: sendAt + nc.jitter + j})
		}
		ts += uint32(n)
	}
	return out
}

func merge(streams ...[]sent) []sent {
	var all []sent
	for _, s := range streams {
		all = append(all, s...)
	}
	slices.SortStableFunc(all, func(a, b sent) int { return int(a.at - b.at) })
	return all
}

// fakePlay runs a Player on a function sink and a fake clock for the
// given duration, pushing the packets as their arrival times come, and
// returns the output. between, if set, is called with each frame's index
// before it is written.
type fakePlay struct {
	t       *testing.T
	p       *Player
	out     []float32
	played  []Played
	between func(frame int)
}

func newFakePlay(t *testing.T, cfg PlayerConfig, packets []sent, d time.Duration) *fakePlay {
	t.Helper()
	fp := &fakePlay{t: t}
	clock := jt0
	if cfg.Format == (Format{}) {
		cfg.Format = mono48()
	}
	frames := int(d / cfg.Format.FrameDuration())
	errDone := errors.New("done")
	pending := packets
	cfg.Now = func() time.Time { return clock }
	cfg.OnPlayed = func(pl Played) { fp.played = append(fp.played, pl) }
	deliver := func() {
		for len(pending) > 0 && !jt0.Add(pending[0].at).After(clock) {
			s := pending[0]
			pending = pending[1:]
			fp.p.Push(s.key, s.seq, s.ts, s.payload, jt0.Add(s.at))
		}
	}
	n := 0
	cfg.Sink = NewFuncOutput(cfg.Format, func(frame []float32) error {
		fp.out = append(fp.out, frame...)
		clock = clock.Add(cfg.Format.FrameDuration())
		deliver()
		if n++; n >= frames {
			return errDone
		}
		if fp.between != nil {
			fp.between(n)
		}
		return nil
	})
	p, err := NewPlayer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fp.p = p
	deliver()
	return fp
}

func (fp *fakePlay) run() {
	fp.t.Helper()
	if err := fp.p.Run(context.Background()); err == nil || err.Error() != "audio: play: done" {
		fp.t.Fatalf("run: %v", err)
	}
}

// longestQuiet returns the longest run of samples below thr in absolute
// value, as a duration at rate.
func longestQuiet(x []float32, thr float32, rate int) time.Duration {
	run, longest := 0, 0
	for _, v := range x {
		if v < thr && v > -thr {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return time.Duration(longest) * time.Second / time.Duration(rate)
}

// toneSpan returns the part of x from the first to the last sample above
// 0.01, less margin samples at each end.
func toneSpan(x []float32, margin int) []float32 {
	first := leadingSilence(x, 0.01)
	last := len(x) - 1
	for last > first && math.Abs(float64(x[last])) <= 0.01 {
		last--
	}
	if last-first <= 2*margin {
		return nil
	}
	return x[first+margin : last-margin]
}

func TestPlayerToneThroughJitterAndLoss(t *testing.T) {
	packets, _ := encodeTone(t, mono48(), fecOptions(), 440, 10)
	fp := newFakePlay(t, PlayerConfig{}, schedule("host", packets, 65000, 4_294_000_000, netConfig{jitter: 10 * time.Millisecond, loss: 0.1, seed: 1}), 10500*time.Millisecond)
	var mid StreamStats
	fp.between = func(n int) {
		if n == 250 {
			mid = fp.p.Stats().Streams["host"]
		}
	}
	fp.run()
	tone := toneSpan(fp.out, 4800)
	st := fp.p.Stats().Streams["host"]
	gap := longestQuiet(tone, 1e-3, 48000)
	freq := dsp.DominantFrequency(tone, 48000)
	var lat []time.Duration
	for _, pl := range fp.played {
		lat = append(lat, pl.Latency())
	}
	slices.Sort(lat)
	t.Logf("%.1f s of tone at %.3f Hz, longest quiet %v; lost %d, late %d, FEC %d, PLC %d, dropped %d, inserted %d; target %v, delay %v; latency median %v, max %v",
		float64(len(tone))/48000, freq, gap, st.Lost, st.Late, st.FECRecovered, st.Concealed, st.Dropped, st.Inserted, st.Target, st.Delay, lat[len(lat)/2], lat[len(lat)-1])
	if len(tone) < 9*48000 || math.Abs(freq-440) > 0.5 {
		t.Errorf("%.2f s at %.2f Hz, want 9 s or more of 440 Hz", float64(len(tone))/48000, freq)
	}
	if gap > 60*time.Millisecond {
		t.Errorf("quiet for %v", gap)
	}
	if st.FECRecovered == 0 || st.Lost < 30 || st.FECRecovered > st.Lost {
		t.Errorf("lost %d, recovered by FEC %d: want most losses recovered", st.Lost, st.FECRecovered)
	}
	if st.Target < 40*time.Millisecond || st.Target > 60*time.Millisecond {
		t.Errorf("target %v for ±10 ms jitter, want 40 … 60 ms", st.Target)
	}
	if len(fp.played) < 400 || lat[len(lat)/2] > 80*time.Millisecond {
		t.Errorf("%d packets reported played, median latency %v", len(fp.played), lat[len(lat)/2])
	}
	if mid.LastLatency <= 0 || mid.Level.RMSDBFS < -20 || mid.Delay < 30*time.Millisecond || mid.Buffered <= 0 {
		t.Errorf("stream stats while playing: %+v", mid)
	}
}

func TestPlayerMixesStreams(t *testing.T) {
	a, _ := encodeTone(t, mono48(), fecOptions(), 440, 3)
	b, _ := encodeTone(t, mono48(), fecOptions(), 660, 3)
	nc := netConfig{jitter: 5 * time.Millisecond}
	fp := newFakePlay(t, PlayerConfig{}, merge(schedule("a", a, 1, 1, nc), schedule("b", b, 500, 9000, nc)), 3*time.Second)
	fp.run()
	tone := toneSpan(fp.out, 4800)
	l440, l660, l550 := goertzelDB(tone, 48000, 440), goertzelDB(tone, 48000, 660), goertzelDB(tone, 48000, 550)
	t.Logf("440 Hz %.1f dB, 660 Hz %.1f dB, 550 Hz %.1f dB", l440, l660, l550)
	if l440 < -9 || l660 < -9 || l550 > l440-40 {
		t.Errorf("440 Hz %.1f dB, 660 Hz %.1f dB, 550 Hz %.1f dB: want both tones near -6 dB", l440, l660, l550)
	}
	st := fp.p.Stats()
	if len(st.Streams) != 2 || st.Frames != 149 || st.Level.PeakDBFS < -6 { // the last write failed
		t.Errorf("stats %+v", st)
	}
}

func TestPlayerVolumeRemoveAndSilence(t *testing.T) {
	packets, _ := encodeTone(t, mono48(), fecOptions(), 440, 3)
	sched := schedule("host", packets, 0, 0, netConfig{})
	for len(sched) > 0 && sched[len(sched)-1].at >= 2500*time.Millisecond {
		sched = sched[:len(sched)-1] // the host leaves at 2.5 s, with audio still buffered
	}
	fp := newFakePlay(t, PlayerConfig{VolumeDB: -6}, sched, 4*time.Second)
	fp.between = func(n int) {
		switch n {
		case 75: // 1.5 s
			fp.p.SetVolume(0)
		case 125: // 2.5 s
			fp.p.RemoveStream("host")
		}
	}
	fp.run()
	quiet := MeasureLevel(fp.out[48000:72000]).RMSDBFS
	loud := MeasureLevel(fp.out[76800:119000]).RMSDBFS
	after := MeasureLevel(fp.out[125*960:]).PeakDBFS
	t.Logf("-6 dB: %.2f dBFS, 0 dB: %.2f dBFS, after removal: %.0f dBFS", quiet, loud, after)
	if d := loud - quiet; math.Abs(d-6) > 0.3 {
		t.Errorf("volume step %.2f dB, want 6", d)
	}
	if after > SilenceDBFS {
		t.Errorf("after the stream was removed: %.1f dBFS, want silence", after)
	}
	if n := len(fp.p.Stats().Streams); n != 0 {
		t.Errorf("%d streams after removal", n)
	}
}

// Senders may use any Opus frame size; the player's own frame is
// independent of it. A stereo player duplicates a mono stream.
func TestPlayerFrameSizes(t *testing.T) {
	for _, tc := range []struct{ sendMs, playMs, playCh int }{{60, 20, 1}, {10, 20, 2}, {20, 10, 1}, {40, 60, 2}} {
		packets, _ := encodeTone(t, Format{SampleRate: 48000, Channels: 1, FrameMs: tc.sendMs}, fecOptions(), 440, 3)
		f := Format{SampleRate: 48000, Channels: tc.playCh, FrameMs: tc.playMs}
		fp := newFakePlay(t, PlayerConfig{Format: f}, schedule("h", packets, 0, 0, netConfig{jitter: 5 * time.Millisecond, seed: 3}), 3*time.Second)
		fp.run()
		left := channel(fp.out, tc.playCh, 0)
		tone := toneSpan(left, 2400)
		freq, gap := dsp.DominantFrequency(tone, 48000), longestQuiet(tone, 1e-3, 48000)
		st := fp.p.Stats().Streams["h"]
		if math.Abs(freq-440) > 1 || gap > 20*time.Millisecond || len(tone) < 2*48000 || st.Lost+st.Late+st.Underruns != 0 {
			t.Errorf("%d ms packets into %d ms × %d ch: %.2f Hz, %.2f s, quiet %v, stats %+v", tc.sendMs, tc.playMs, tc.playCh, freq, float64(len(tone))/48000, gap, st.JitterStats)
		}
		if tc.playCh == 2 && !equal(left, channel(fp.out, 2, 1)) {
			t.Errorf("stereo channels differ")
		}
	}
}

// A host restarting in the same slot (new sequence numbers and
// timestamps) resets the stream, which goes on playing the new sender.
func TestPlayerNewSenderInSlot(t *testing.T) {
	a, _ := encodeTone(t, mono48(), fecOptions(), 440, 2)
	b, _ := encodeTone(t, mono48(), fecOptions(), 660, 2)
	second := schedule("slot", b, 30000, 123, netConfig{})
	for i := range second {
		second[i].at += 2500 * time.Millisecond
	}
	fp := newFakePlay(t, PlayerConfig{}, merge(schedule("slot", a, 7, 77, netConfig{}), second), 5*time.Second)
	fp.run()
	st := fp.p.Stats().Streams["slot"]
	end := fp.out[int(3.5*48000):int(4.4*48000)]
	if f := dsp.DominantFrequency(end, 48000); st.Resets != 1 || math.Abs(f-660) > 1 {
		t.Errorf("resets %d, then %.1f Hz; want 1 and 660 Hz", st.Resets, f)
	}
}

func TestPlayerLifecycle(t *testing.T) {
	if _, err := NewPlayer(PlayerConfig{Format: Format{SampleRate: 44100, Channels: 1, FrameMs: 20}}); err == nil {
		t.Error("bad format accepted")
	}
	if _, err := NewPlayer(PlayerConfig{Format: mono48(), Sink: NewFuncOutput(Format{48000, 2, 20}, nil)}); err == nil {
		t.Error("sink of another format accepted")
	}
	block := make(chan struct{})
	var once sync.Once
	p, err := NewPlayer(PlayerConfig{Format: mono48(), Sink: NewFuncOutput(mono48(), func([]float32) error {
		once.Do(func() { close(block) })
		time.Sleep(time.Millisecond)
		return nil
	})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	<-block
	if err := p.Run(ctx); !errors.Is(err, ErrPlayerRunning) {
		t.Errorf("second Run: %v", err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ { // Push from several goroutines while Run pulls
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				p.Push(StreamKey(rune('a'+g)), uint16(i), uint32(i*960), []byte{31 << 3, 0}, time.Now())
				_ = p.Stats()
			}
		}()
	}
	wg.Wait()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("run after cancel: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	p.Push("late", 1, 1, []byte{31 << 3}, time.Now())
	if n := len(p.Stats().Streams); n != 0 {
		t.Errorf("%d streams after close", n)
	}
	if err := p.Run(context.Background()); !errors.Is(err, ErrOutputClosed) {
		t.Errorf("run after close: %v", err)
	}
}

// BenchmarkPlayerPerStream measures the player's CPU per host stream:
// jitter buffer, Opus decode, mix and a sink write for one 20 ms frame of
// each of hosts streams, as a share of real time.
func BenchmarkPlayerPerStream(b *testing.B) {
	for _, hosts := range []int{1, 4} {
		b.Run(map[int]string{1: "1 host", 4: "4 hosts"}[hosts], func(b *testing.B) {
			packets, _ := encodeTone(b, mono48(), fecOptions(), 440, 10)
			clock := jt0
			frames := 0
			var p *Player
			errDone := errors.New("done")
			sink := NewFuncOutput(mono48(), func([]float32) error {
				clock = clock.Add(20 * time.Millisecond)
				frames++
				for h := 0; h < hosts; h++ {
					p.Push(StreamKey(rune('a'+h)), uint16(frames), uint32(frames*960), packets[frames%len(packets)], clock)
				}
				if frames >= b.N {
					return errDone
				}
				return nil
			})
			var err error
			p, err = NewPlayer(PlayerConfig{Format: mono48(), Sink: sink, Now: func() time.Time { return clock }})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			if err := p.Run(context.Background()); !errors.Is(err, errDone) {
				b.Fatal(err)
			}
			perFrame := time.Since(start) / time.Duration(b.N)
			b.ReportMetric(100*float64(perFrame)/float64(20*time.Millisecond)/float64(hosts), "%cpu/host")
		})
	}
}
