// Package dsp measures test signals: the dominant frequency of a buffer, its
// RMS, and how far it is from a pure sine. Tests across onair use it to check
// that audio went through a pipeline unharmed.
package dsp

import (
	"math"
	"math/cmplx"
)

// RMS returns the root mean square of samples, 0 for an empty slice.
func RMS(samples []float32) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, s := range samples {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(len(samples)))
}

// DominantFrequency returns the frequency in Hz of the strongest sinusoid in
// samples, taken at rate samples per second. It locates the peak of a
// Hann-windowed, zero-padded FFT, then refines it by maximising the windowed
// spectrum's magnitude between the neighbouring bins, so a pure tone is
// located to a small fraction of a bin (well under 0.01 Hz for 5 s at
// 48 kHz). It returns 0 for fewer than 4 samples or a silent buffer.
func DominantFrequency(samples []float32, rate int) float64 {
	n := len(samples)
	if n < 4 || rate <= 0 {
		return 0
	}
	w := hann(samples)
	size := 1
	for size < 2*n {
		size <<= 1
	}
	spec := make([]complex128, size)
	for i, v := range w {
		spec[i] = complex(v, 0)
	}
	fft(spec)
	peak, best := 0, 0.0
	for k := 1; k < size/2; k++ { // skip DC
		if m := cmplx.Abs(spec[k]); m > best {
			peak, best = k, m
		}
	}
	if best == 0 {
		return 0
	}
	// Golden-section search for the maximum of |DTFT| in (peak-1, peak+1)
	// bins, in cycles per sample.
	binW := 1 / float64(size)
	lo, hi := (float64(peak)-1)*binW, (float64(peak)+1)*binW
	mag := func(f float64) float64 { return dtftMag(w, f) }
	const g = 0.6180339887498949
	a, b := hi-g*(hi-lo), lo+g*(hi-lo)
	fa, fb := mag(a), mag(b)
	for i := 0; i < 60 && hi-lo > 1e-12; i++ {
		if fa > fb {
			hi, b, fb = b, a, fa
			a = hi - g*(hi-lo)
			fa = mag(a)
		} else {
			lo, a, fa = a, b, fb
			b = lo + g*(hi-lo)
			fb = mag(b)
		}
	}
	return (lo + hi) / 2 * float64(rate)
}

// THDN returns the total harmonic distortion plus noise of samples, in dB
// relative to the tone: the power left after removing the best-fitting sine
// of frequency hz (and any DC offset), over the power of that sine. A clean
// sine gives a large negative number; -60 means the residue is 1000 times
// smaller in amplitude than the tone. It returns 0 when there is no tone.
func THDN(samples []float32, rate int, hz float64) float64 {
	n := len(samples)
	if n == 0 || rate <= 0 {
		return 0
	}
	// Least squares fit of a*sin + b*cos + c: solve the 3x3 normal equations.
	var m [3][4]float64
	w := 2 * math.Pi * hz / float64(rate)
	for i, s := range samples {
		basis := [3]float64{math.Sin(w * float64(i)), math.Cos(w * float64(i)), 1}
		for r := 0; r < 3; r++ {
			for c := 0; c < 3; c++ {
				m[r][c] += basis[r] * basis[c]
			}
			m[r][3] += basis[r] * float64(s)
		}
	}
	x, ok := solve3(m)
	if !ok {
		return 0
	}
	var tone, resid float64
	for i, s := range samples {
		fit := x[0]*math.Sin(w*float64(i)) + x[1]*math.Cos(w*float64(i))
		d := float64(s) - fit - x[2]
		tone += fit * fit
		resid += d * d
	}
	if tone == 0 {
		return 0
	}
	if resid == 0 {
		return -300
	}
	return 10 * math.Log10(resid/tone)
}

// solve3 solves a 3x3 linear system given as an augmented matrix by Gaussian
// elimination with partial pivoting.
func solve3(m [3][4]float64) ([3]float64, bool) {
	for col := 0; col < 3; col++ {
		p := col
		for r := col + 1; r < 3; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[p][col]) {
				p = r
			}
		}
		if m[p][col] == 0 {
			return [3]float64{}, false
		}
		m[col], m[p] = m[p], m[col]
		for r := col + 1; r < 3; r++ {
			f := m[r][col] / m[col][col]
			for c := col; c < 4; c++ {
				m[r][c] -= f * m[col][c]
			}
		}
	}
	var x [3]float64
	for r := 2; r >= 0; r-- {
		s := m[r][3]
		for c := r + 1; c < 3; c++ {
			s -= m[r][c] * x[c]
		}
		x[r] = s / m[r][r]
	}
	return x, true
}

// hann returns samples multiplied by a Hann window, as float64.
func hann(samples []float32) []float64 {
	n := len(samples)
	w := make([]float64, n)
	for i, s := range samples {
		w[i] = float64(s) * (0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1)))
	}
	return w
}

// dtftMag returns |Σ x[i] e^{-j2πfi}| for f in cycles per sample, computed
// with a rotating phasor renormalised now and then to stop drift.
func dtftMag(x []float64, f float64) float64 {
	step := complex(math.Cos(-2*math.Pi*f), math.Sin(-2*math.Pi*f))
	ph := complex(1, 0)
	var acc complex128
	for i, v := range x {
		acc += complex(v, 0) * ph
		ph *= step
		if i&1023 == 1023 {
			ph = cmplx.Rect(1, -2*math.Pi*f*float64(i+1))
		}
	}
	return cmplx.Abs(acc)
}

// fft is an in-place iterative radix-2 FFT; len(x) must be a power of two.
func fft(x []complex128) {
	n := len(x)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j |= bit
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		half := size / 2
		step := -2 * math.Pi / float64(size)
		for k := 0; k < half; k++ {
			tw := cmplx.Rect(1, step*float64(k))
			for start := k; start < n; start += size {
				u, v := x[start], x[start+half]*tw
				x[start], x[start+half] = u+v, u-v
			}
		}
	}
}

// TonePower returns the mean power of the component of samples at hz: a
// sine of amplitude A at hz gives A²/2, whatever else the signal holds
// (given a few periods of the difference frequency in the span).
func TonePower(samples []float32, rate int, hz float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	var i, q float64
	w := 2 * math.Pi * hz / float64(rate)
	for n, v := range samples {
		s, c := math.Sincos(w * float64(n))
		i += float64(v) * c
		q += float64(v) * s
	}
	amp := 2 * math.Hypot(i, q) / float64(len(samples))
	return amp * amp / 2
}
