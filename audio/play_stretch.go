package audio

import "math"

// Play-out length corrections are made one waveform period at a time, in
// the style of WSOLA: the period at the play-out point is found by
// correlation, and one period is cross-faded out (shortening) or in
// (lengthening) over its whole length. A tone or voiced speech keeps its
// phase across the splice; noise is merely blended.
const (
	stretchMinMs  = 2.5  // shortest period removed or repeated
	stretchMaxMs  = 15.0 // longest
	stretchQuiet  = -40  // dBFS: a splice in audio below this is preferred
	stretchNearly = 0.02 // a shorter period within this correlation of the best is taken
)

// bestPeriod returns the lag L in [minL, maxL] frames at which the first L
// frames of x (interleaved, ch channels, at least 2·maxL frames) are most
// like the following L: the top of the first correlation peak that comes
// within stretchNearly of the best (the fundamental period, not a multiple
// of it). Silence gives minL.
func bestPeriod(x []float32, ch, minL, maxL int) int {
	n := 2 * maxL
	a := make([]float64, n)    // the channels' average
	sq := make([]float64, n+1) // sq[k]: energy of a[:k]
	for i := range a {
		var v float64
		for c := 0; c < ch; c++ {
			v += float64(x[i*ch+c])
		}
		a[i] = v / float64(ch)
		sq[i+1] = sq[i] + a[i]*a[i]
	}
	corr := make([]float64, maxL+1)
	best := math.Inf(-1)
	for l := minL; l <= maxL; l++ {
		var xy float64
		for i, v := range a[:l] {
			xy += v * a[i+l]
		}
		c := 0.0
		if xx, yy := sq[l], sq[2*l]-sq[l]; xx > 0 && yy > 0 {
			c = xy / math.Sqrt(xx*yy)
		}
		corr[l] = c
		best = max(best, c)
	}
	l := minL
	for l < maxL && corr[l] < best-stretchNearly {
		l++
	}
	for l < maxL && corr[l+1] > corr[l] { // up to that peak's top
		l++
	}
	return l
}

// dropPeriod shortens x (interleaved, at least 2·l frames) by l frames at
// its start: the first l frames fade into the next l, which are removed.
func dropPeriod(x []float32, ch, l int) []float32 {
	for i := 0; i < l; i++ {
		w := float32(i+1) / float32(l+1)
		for c := 0; c < ch; c++ {
			k := i*ch + c
			x[k] = x[k]*(1-w) + x[k+l*ch]*w
		}
	}
	n := copy(x[l*ch:], x[2*l*ch:])
	return x[:l*ch+n]
}

// repeatPeriod lengthens x (interleaved, at least 2·l frames) by l frames
// after its first l: the inserted period fades from the audio after the
// first period into the first period again, so both seams are continuous.
func repeatPeriod(x []float32, ch, l int) []float32 {
	ins := make([]float32, l*ch)
	for i := 0; i < l; i++ {
		w := float32(i+1) / float32(l+1)
		for c := 0; c < ch; c++ {
			k := i*ch + c
			ins[k] = x[k+l*ch]*(1-w) + x[k]*w
		}
	}
	n := len(x)
	x = append(x, ins...)
	copy(x[2*l*ch:], x[l*ch:n])
	copy(x[l*ch:], ins)
	return x
}

// rmsDBFS returns the RMS level of x in dBFS.
func rmsDBFS(x []float32) float64 { return MeasureLevel(x).RMSDBFS }
