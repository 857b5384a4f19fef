package audio

// Limiter settings of a Mixer.
const (
	// LimiterCeiling is the highest absolute sample a Mixer puts out,
	// about -1 dBFS.
	LimiterCeiling = 0.891
	limiterHoldMs  = 20  // a peak holds the gain this long (longer than a 50 Hz period)
	limiterRelease = 150 // ms: time constant of the gain's recovery afterwards
	limiterRetrig  = 0.98
)

// Mixer sums the frames of several streams, applies the output volume and
// keeps the result within ±LimiterCeiling with a peak limiter: no hard
// clipping when loud hosts add up.
//
// The limiter needs no look-ahead: its envelope follows a peak at once,
// holds it for 20 ms (so the gain is steady over a waveform's periods and
// adds no distortion to a steady sound) and then decays with a 150 ms time
// constant; the gain is the ceiling over the envelope when the envelope is
// above it. Since the envelope is never below the current sample, no
// output sample exceeds the ceiling. Volume changes are ramped over one
// frame.
//
// A Mixer is not safe for concurrent use.
type Mixer struct {
	channels int
	gain     float32 // linear volume reached at the end of the last frame
	want     float32 // linear volume for the next frame
	env      float32 // limiter envelope, linear peak
	hold     int     // frames left in the envelope's hold
	holdLen  int
	release  float32 // envelope decay per frame after the hold
}

// NewMixer returns a mixer for frames of f at volumeDB.
func NewMixer(f Format, volumeDB float64) *Mixer {
	m := &Mixer{
		channels: f.Channels,
		holdLen:  f.SampleRate * limiterHoldMs / 1000,
		release:  float32(1 - 1000/(limiterRelease*float64(f.SampleRate))),
	}
	m.SetVolume(volumeDB)
	m.gain = m.want
	return m
}

// SetVolume sets the output volume in dB (0 leaves the sum unchanged),
// from the next frame on.
func (m *Mixer) SetVolume(db float64) { m.want = float32(dbToGain(db)) }

// Mix writes into out the sum of ins, after volume and limiting. Every
// input is interleaved like out; a shorter one is taken as silence after
// its end, and no inputs give silence.
func (m *Mixer) Mix(out []float32, ins [][]float32) {
	clear(out)
	for _, in := range ins {
		n := min(len(in), len(out))
		for i, v := range in[:n] {
			out[i] += v
		}
	}
	ch := m.channels
	frames := len(out) / ch
	step := float32(0)
	if frames > 0 {
		step = (m.want - m.gain) / float32(frames)
	}
	g := m.gain
	for i := 0; i < frames; i++ {
		g += step
		fr := out[i*ch : i*ch+ch]
		var peak float32
		for c := range fr {
			fr[c] *= g
			if a := abs32(fr[c]); a > peak {
				peak = a
			}
		}
		switch {
		case peak >= m.env*limiterRetrig:
			m.env = max(m.env, peak)
			m.hold = m.holdLen
		case m.hold > 0:
			m.hold--
		default:
			m.env = max(peak, m.env*m.release)
		}
		if m.env > LimiterCeiling {
			lim := LimiterCeiling / m.env
			for c := range fr {
				fr[c] *= lim
			}
		}
	}
	m.gain = m.want
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}
