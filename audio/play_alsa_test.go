package audio

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/alsatest"
	"github.com/onair-dev/onair/internal/dsp"
	"github.com/onair-dev/onair/internal/waitfor"
)

// playOnALSA plays the scheduled packets in real time through a Player on
// the ALSA file output ("default", which writes alsaEnv.OutPath), and
// returns the file's samples and the player's last statistics.
func playOnALSA(t *testing.T, packets []sent) ([]float32, PlayerStats) {
	t.Helper()
	log, _ := newTestLog()
	p, err := NewPlayer(PlayerConfig{Output: "default", Format: mono48(), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	start := time.Now()
	for _, s := range packets {
		if d := time.Until(start.Add(s.at)); d > 0 {
			time.Sleep(d)
		}
		p.Push(s.key, s.seq, s.ts, s.payload, time.Now())
	}
	// Let the buffers play out.
	var st PlayerStats
	waitfor.Cond(t, 10*time.Second, func() bool {
		st = p.Stats()
		for _, ss := range st.Streams {
			if ss.Buffered > 0 {
				return false
			}
		}
		return true
	}, "the jitter buffers played out")
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := alsatest.ReadS16LE(alsaEnv.OutPath)
	if err != nil {
		t.Fatal(err)
	}
	return out, st
}

// A 440 Hz host over a path with ±10 ms of jitter and 10 % loss, FEC on:
// the real ALSA output holds the tone without a gap.
func TestPlayerOnALSAToneThroughLoss(t *testing.T) {
	packets, _ := encodeTone(t, mono48(), fecOptions(), 440, 6.5)
	out, st := playOnALSA(t, schedule("host", packets, 1000, 5000, netConfig{jitter: 10 * time.Millisecond, loss: 0.1, seed: 42}))
	tone := toneSpan(out, 2400) // from 50 ms after the first sound
	hs := st.Streams["host"]
	freq := dsp.DominantFrequency(tone, 48000)
	gap := longestQuiet(tone, 1e-3, 48000)
	t.Logf("file %.2f s, tone %.2f s at %.3f Hz, longest quiet %v, THD+N %.1f dB; lost %d, late %d, FEC %d, PLC %d, underruns %d, dropped %d, inserted %d, target %v, output underruns %d, frames %d",
		float64(len(out))/48000, float64(len(tone))/48000, freq, gap, dsp.THDN(tone, 48000, 440),
		hs.Lost, hs.Late, hs.FECRecovered, hs.Concealed, hs.Underruns, hs.Dropped, hs.Inserted, hs.Target, st.Underruns, st.Frames)
	if len(tone) < 5*48000 {
		t.Fatalf("%.2f s of tone in the output, want at least 5 s", float64(len(tone))/48000)
	}
	if math.Abs(freq-440) > 2 {
		t.Errorf("dominant %.2f Hz, want 440 ± 2", freq)
	}
	if gap > 60*time.Millisecond {
		t.Errorf("output quiet for %v, want no gap over 60 ms", gap)
	}
	if hs.FECRecovered == 0 {
		t.Errorf("no loss recovered by FEC: %+v", hs)
	}
}

// Two hosts at 440 and 660 Hz: the output holds both.
func TestPlayerOnALSATwoHosts(t *testing.T) {
	a, _ := encodeTone(t, mono48(), fecOptions(), 440, 3)
	b, _ := encodeTone(t, mono48(), fecOptions(), 660, 3)
	nc := netConfig{jitter: 5 * time.Millisecond, loss: 0.05, seed: 5}
	out, st := playOnALSA(t, merge(schedule("a", a, 1, 1, nc), schedule("b", b, 40000, 7, netConfig{jitter: 5 * time.Millisecond, loss: 0.05, seed: 6})))
	mix := toneSpan(out, 4800)
	l440, l660, l550 := goertzelDB(mix, 48000, 440), goertzelDB(mix, 48000, 660), goertzelDB(mix, 48000, 550)
	t.Logf("%.2f s of mix: 440 Hz %.1f dB, 660 Hz %.1f dB, 550 Hz %.1f dB; streams %d", float64(len(mix))/48000, l440, l660, l550, len(st.Streams))
	if len(mix) < 2*48000 || l440 < -10 || l660 < -10 || l550 > min(l440, l660)-30 {
		t.Errorf("440 Hz %.1f dB, 660 Hz %.1f dB, 550 Hz %.1f dB over %.2f s: want both tones", l440, l660, l550, float64(len(mix))/48000)
	}
}
