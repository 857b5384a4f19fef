package audio

import (
	"errors"
	"log/slog"
)

// Source delivers consecutive frames of interleaved float32 PCM in [-1, 1].
// Read blocks until a whole frame is available; a capture device paces it,
// a file or tone source returns at once (see Pacer).
type Source interface {
	// Format is the format of the frames Read fills, fixed for the source's life.
	Format() Format
	// Read fills buf, whose length is Format().FrameLen(), with the next frame.
	Read(buf []float32) error
	// Close releases the source; it is safe to call twice.
	Close() error
}

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("audio: source closed")

// OpenSource opens the input named by spec in format want:
//
//   - "default": the default PortAudio input;
//   - a number: the PortAudio device with that index;
//   - "tone:<Hz>": a sine test tone at -12 dBFS;
//   - "file:<path.wav>": a WAV file, looped;
//   - any other text: the first PortAudio input whose name contains it.
//
// The returned source delivers want's format: a device that cannot capture
// at want.SampleRate is opened at its own rate and converted.
func OpenSource(spec string, want Format, log *slog.Logger) (Source, error) {
	return openSource(spec, want, log)
}
