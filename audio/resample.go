package audio

import (
	"errors"
	"fmt"
	"math"
)

// Resampler filter design. zeroCrossings is the half-length of the sinc in
// zero crossings of the (lower) cutoff; kaiserBeta trades main-lobe width for
// stop-band depth (9 gives about -90 dB sidelobes); rolloff puts the cutoff
// a little below the lower Nyquist frequency so the transition band ends
// near it.
const (
	zeroCrossings = 32
	kaiserBeta    = 9.0
	rolloff       = 0.94
	maxPhases     = 4096
)

// ErrRateRatio is returned by NewResampler for rates whose ratio, in lowest
// terms, needs more than 4096 filter phases (no common rates do).
var ErrRateRatio = errors.New("rate ratio too complex")

// Resampler converts a stream of interleaved float32 PCM from one sample rate
// to another with a polyphase Kaiser-windowed sinc filter. It keeps the
// input it still needs between calls, so a stream cut into blocks of any
// size converts exactly as if it were processed whole: no clicks at block
// boundaries. Output sample n is the input signal at time n·inRate/outRate;
// because the filter looks ahead, output lags input by a few dozen samples
// (Process returns fewer samples at the start, never a shifted signal).
//
// A Resampler is not safe for concurrent use.
type Resampler struct {
	inRate, outRate, channels int
	l, m                      int         // outRate/inRate = l/m in lowest terms
	half                      int         // taps on each side, in input frames
	phases                    [][]float32 // l phases of 2*half taps each
	buf                       []float32   // pending input frames, interleaved
	pos                       int         // frame in buf at the next output's time
	phase                     int         // next output's time past pos, in 1/l frames
}

// NewResampler returns a resampler from inRate to outRate Hz for interleaved
// frames of channels samples. Equal rates pass samples through unchanged.
func NewResampler(inRate, outRate, channels int) (*Resampler, error) {
	if inRate <= 0 || outRate <= 0 || channels <= 0 {
		return nil, fmt.Errorf("audio: resample %d -> %d Hz, %d channels: rates and channels must be positive", inRate, outRate, channels)
	}
	g := gcd(inRate, outRate)
	r := &Resampler{inRate: inRate, outRate: outRate, channels: channels, l: outRate / g, m: inRate / g}
	if inRate == outRate {
		return r, nil
	}
	if r.l > maxPhases {
		return nil, fmt.Errorf("audio: resample %d -> %d Hz: %w", inRate, outRate, ErrRateRatio)
	}
	// Cutoff as a fraction of the input Nyquist frequency.
	cut := rolloff * math.Min(1, float64(outRate)/float64(inRate))
	width := zeroCrossings / cut // half-length in input frames
	r.half = int(math.Ceil(width))
	i0b := besselI0(kaiserBeta)
	r.phases = make([][]float32, r.l)
	for p := range r.phases {
		taps := make([]float32, 2*r.half)
		var sum float64
		coef := make([]float64, len(taps))
		for k := range taps {
			// Tap k weighs input frame pos-half+1+k; its distance from the
			// output time pos+p/l is:
			tau := float64(p)/float64(r.l) + float64(r.half-1-k)
			if math.Abs(tau) >= width {
				continue
			}
			x := tau / width
			c := cut * sinc(cut*tau) * besselI0(kaiserBeta*math.Sqrt(1-x*x)) / i0b
			coef[k] = c
			sum += c
		}
		for k, c := range coef {
			taps[k] = float32(c / sum) // unity gain at DC for every phase
		}
		r.phases[p] = taps
	}
	// Start with silence before the first input frame, so output 0 is at
	// input time 0.
	r.buf = make([]float32, (r.half-1)*channels)
	r.pos = r.half - 1
	return r, nil
}

// InRate returns the input sample rate in Hz.
func (r *Resampler) InRate() int { return r.inRate }

// OutRate returns the output sample rate in Hz.
func (r *Resampler) OutRate() int { return r.outRate }

// Process converts in, whose length must be a multiple of the channel count,
// appends every output frame it can complete to dst and returns it.
func (r *Resampler) Process(dst, in []float32) []float32 {
	if r.phases == nil {
		return append(dst, in...)
	}
	ch := r.channels
	r.buf = append(r.buf, in...)
	frames := len(r.buf) / ch
	taps := 2 * r.half
	for r.pos+r.half < frames {
		h := r.phases[r.phase]
		start := (r.pos - r.half + 1) * ch
		for c := 0; c < ch; c++ {
			var acc float32
			x := r.buf[start+c:]
			for k := 0; k < taps; k++ {
				acc += h[k] * x[k*ch]
			}
			dst = append(dst, acc)
		}
		r.phase += r.m
		r.pos += r.phase / r.l
		r.phase %= r.l
	}
	// Keep only the frames later outputs can still use.
	if drop := r.pos - r.half + 1; drop > 0 {
		if drop > frames {
			drop = frames
		}
		n := copy(r.buf, r.buf[drop*ch:])
		r.buf = r.buf[:n]
		r.pos -= drop
	}
	return dst
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the zeroth-order modified Bessel function of the first kind,
// by its power series (converges quickly for the arguments used here).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 100; k++ {
		term *= (x / 2) / float64(k)
		sum += term * term
		if term*term < sum*1e-17 {
			break
		}
	}
	return sum
}
