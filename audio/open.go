package audio

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"

	"github.com/gordonklaus/portaudio"
)

// Errors wrapped by OpenSource and Read; compare with errors.Is.
var (
	// ErrNoDevice means no PortAudio input matches the spec.
	ErrNoDevice = errors.New("no input device matches")
	// ErrBadSpec means the spec is malformed (empty, or a bad tone frequency).
	ErrBadSpec = errors.New("bad input spec")
	// ErrFrameSize means Read was given a buffer that is not one frame long.
	ErrFrameSize = errors.New("buffer is not one frame")
)

// openSource implements OpenSource.
func openSource(spec string, want Format, log *slog.Logger) (Source, error) {
	if err := want.Validate(); err != nil {
		return nil, fmt.Errorf("audio: open input %q: %w", spec, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("input", spec)
	switch {
	case spec == "":
		return nil, fmt.Errorf("audio: open input %q: %w: empty; use default, a device index or name, tone:<Hz> or file:<path.wav>", spec, ErrBadSpec)
	case strings.HasPrefix(spec, "tone:"):
		hz, err := strconv.ParseFloat(strings.TrimPrefix(spec, "tone:"), 64)
		nyquist := float64(want.SampleRate) / 2
		if err != nil || math.IsNaN(hz) || hz <= 0 || hz > nyquist {
			return nil, fmt.Errorf("audio: open input %q: %w: frequency must be a number of Hz above 0 and at most %g", spec, ErrBadSpec, nyquist)
		}
		log.Info("audio input opened", "kind", "tone", "hz", hz, "rate", want.SampleRate, "channels", want.Channels)
		return newTone(hz, want), nil
	case strings.HasPrefix(spec, "file:"):
		src, err := openWAV(strings.TrimPrefix(spec, "file:"), want, log)
		if err != nil {
			return nil, fmt.Errorf("audio: open input %q: %w", spec, err)
		}
		return src, nil
	default:
		return openDevice(spec, directionInput, func(dev *portaudio.DeviceInfo) (Source, error) {
			return openCapture(dev, want, log)
		})
	}
}

// findInput picks the input device for spec among devs (see findDevice).
func findInput(spec string, devs []*portaudio.DeviceInfo, defIdx int) (*portaudio.DeviceInfo, error) {
	return findDevice(spec, devs, defIdx, directionInput)
}

// checkFrame reports whether buf is exactly one frame of f.
func checkFrame(buf []float32, f Format) error {
	if len(buf) != f.FrameLen() {
		return fmt.Errorf("audio: read: %w: %d samples, want %d", ErrFrameSize, len(buf), f.FrameLen())
	}
	return nil
}

// mapChannels appends the interleaved frames of src, which have inCh
// channels, to dst with outCh channels: equal counts copy, mono is
// duplicated to every output channel, and many channels go to mono as their
// average or to fewer channels by keeping the first ones.
func mapChannels(dst, src []float32, inCh, outCh int) []float32 {
	switch {
	case inCh == outCh:
		return append(dst, src...)
	case inCh == 1:
		for _, v := range src {
			for c := 0; c < outCh; c++ {
				dst = append(dst, v)
			}
		}
	case outCh == 1:
		scale := 1 / float32(inCh)
		for i := 0; i+inCh <= len(src); i += inCh {
			var sum float32
			for _, v := range src[i : i+inCh] {
				sum += v
			}
			dst = append(dst, sum*scale)
		}
	case outCh < inCh:
		for i := 0; i+inCh <= len(src); i += inCh {
			dst = append(dst, src[i:i+outCh]...)
		}
	default: // 1 < inCh < outCh: pad with the first channel
		for i := 0; i+inCh <= len(src); i += inCh {
			dst = append(dst, src[i:i+inCh]...)
			for c := inCh; c < outCh; c++ {
				dst = append(dst, src[i])
			}
		}
	}
	return dst
}
