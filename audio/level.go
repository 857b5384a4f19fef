package audio

import "math"

// SilenceDBFS is the level MeasureLevel reports for digital silence; quieter
// signals are reported at this floor too.
const SilenceDBFS = -120.0

// ApplyGain multiplies buf by 10^(gainDB/20) in place and hard-clips the
// result to [-1, 1]. A gain of 0 dB only clips.
func ApplyGain(buf []float32, gainDB float64) {
	g := float32(math.Pow(10, gainDB/20))
	for i, v := range buf {
		v *= g
		switch {
		case v > 1:
			v = 1
		case v < -1:
			v = -1
		}
		buf[i] = v
	}
}

// Level is the loudness of a buffer in dB relative to full scale, where
// full scale is a sample value of ±1: a full-scale sine has a peak of 0 dBFS
// and an RMS of -3.01 dBFS.
type Level struct {
	RMSDBFS  float64 // root mean square level
	PeakDBFS float64 // largest absolute sample
}

// MeasureLevel returns the RMS and peak level of buf, each no lower than
// SilenceDBFS (an empty buffer is silence).
func MeasureLevel(buf []float32) Level {
	var sum float64
	var peak float32
	for _, v := range buf {
		sum += float64(v * v)
		if v < 0 {
			v = -v
		}
		if v > peak {
			peak = v
		}
	}
	rms := 0.0
	if len(buf) > 0 {
		rms = math.Sqrt(sum / float64(len(buf)))
	}
	return Level{RMSDBFS: toDBFS(rms), PeakDBFS: toDBFS(float64(peak))}
}

func toDBFS(v float64) float64 {
	if v <= 0 {
		return SilenceDBFS
	}
	return math.Max(SilenceDBFS, 20*math.Log10(v))
}
