package relay

import (
	"math"
	"sync"
	"time"
)

// SilenceDBFS is the level reported for silence, for a host that sends
// nothing, and as the floor of quieter signals (as audio.SilenceDBFS).
const SilenceDBFS = -120.0

const (
	// levelWindow is the span of audio a host's level is measured over, in
	// samples at 48 kHz: the last 100 ms.
	levelWindow = 4800
	// levelFrames is how many recent frames the meter keeps, enough for
	// levelWindow of the shortest Opus frames onair sends (10 ms).
	levelFrames = 10
	// levelStale is how long after its last frame a host reads as silent.
	levelStale = 500 * time.Millisecond
)

// frameLevel is the measure of one decoded frame.
type frameLevel struct {
	sumSquares float64
	samples    int
	peak       float64
}

// levelMeter keeps the measures of a host's last frames. The forwarder
// adds, the API reads.
type levelMeter struct {
	mu     sync.Mutex
	frames [levelFrames]frameLevel
	next   int // where the next frame goes
	last   time.Time
}

// add measures one frame of decoded PCM.
func (m *levelMeter) add(pcm []float32, now time.Time) {
	var f frameLevel
	for _, v := range pcm {
		a := math.Abs(float64(v))
		f.sumSquares += a * a
		f.peak = math.Max(f.peak, a)
	}
	f.samples = len(pcm)
	m.mu.Lock()
	m.frames[m.next] = f
	m.next = (m.next + 1) % levelFrames
	m.last = now
	m.mu.Unlock()
}

// level returns the RMS and peak of the newest frames that make up about
// levelWindow samples; silence when nothing arrived for levelStale.
func (m *levelMeter) level(now time.Time) Level {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last.IsZero() || now.Sub(m.last) > levelStale {
		return Level{RMSDBFS: SilenceDBFS, PeakDBFS: SilenceDBFS}
	}
	var sum, peak float64
	n := 0
	for i := 1; i <= levelFrames && n < levelWindow; i++ {
		f := m.frames[(m.next-i+levelFrames)%levelFrames]
		if f.samples == 0 {
			break
		}
		sum += f.sumSquares
		n += f.samples
		peak = math.Max(peak, f.peak)
	}
	if n == 0 {
		return Level{RMSDBFS: SilenceDBFS, PeakDBFS: SilenceDBFS}
	}
	return Level{RMSDBFS: dbfs(math.Sqrt(sum / float64(n))), PeakDBFS: dbfs(peak)}
}

// dbfs converts a linear amplitude (1 = full scale) to dBFS, rounded to a
// hundredth of a dB and floored at SilenceDBFS.
func dbfs(v float64) float64 {
	if v <= 0 {
		return SilenceDBFS
	}
	return math.Max(SilenceDBFS, math.Round(2000*math.Log10(v))/100)
}
