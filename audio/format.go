// Package audio captures, measures, encodes and paces PCM audio: PortAudio
// capture, test sources (tone, WAV file), gain and level metering, Opus
// encoding and the frame clock that paces bursty devices.
package audio

import (
	"fmt"
	"time"
)

// OpusRates are the sample rates libopus encodes natively.
var OpusRates = []int{8000, 12000, 16000, 24000, 48000}

// FrameDurations are the frame lengths, in milliseconds, onair encodes.
var FrameDurations = []int{10, 20, 40, 60}

// Format describes fixed-size frames of interleaved float32 PCM.
type Format struct {
	SampleRate int // samples per second per channel
	Channels   int // 1 or 2
	FrameMs    int // frame duration in milliseconds
}

// FrameSamples returns the samples per channel in one frame.
func (f Format) FrameSamples() int { return f.SampleRate * f.FrameMs / 1000 }

// FrameLen returns the interleaved samples in one frame.
func (f Format) FrameLen() int { return f.FrameSamples() * f.Channels }

// FrameDuration returns the duration of one frame.
func (f Format) FrameDuration() time.Duration { return time.Duration(f.FrameMs) * time.Millisecond }

// RTPSamples returns how far one frame advances an RTP timestamp on the
// 48 kHz Opus clock (RFC 7587 §4.1), whatever the capture rate.
func (f Format) RTPSamples() uint32 { return uint32(48 * f.FrameMs) }

// Validate reports whether libopus can encode frames of this format.
func (f Format) Validate() error {
	if !contains(OpusRates, f.SampleRate) {
		return fmt.Errorf("sample rate %d: must be one of %v", f.SampleRate, OpusRates)
	}
	if f.Channels != 1 && f.Channels != 2 {
		return fmt.Errorf("channels %d: must be 1 or 2", f.Channels)
	}
	if !contains(FrameDurations, f.FrameMs) {
		return fmt.Errorf("frame %d ms: must be one of %v", f.FrameMs, FrameDurations)
	}
	return nil
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
