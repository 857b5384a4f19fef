package audio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sync"

	"github.com/go-audio/wav"
)

// WAV format tags (the fmt chunk's wFormatTag).
const (
	wavPCM        = 1
	wavFloat      = 3
	wavExtensible = 0xFFFE
)

// ErrUnsupportedWAV means the file is not a WAV file onair can play.
var ErrUnsupportedWAV = errors.New("unsupported wav file")

// wavSource plays a WAV file in a loop, converted to the wanted channel
// count and rate. It is not paced: Read returns at once.
type wavSource struct {
	want   Format
	path   string
	f      *os.File
	data   *io.SectionReader // the PCM data chunk, whole frames only
	r      *bufio.Reader     // buffered reader over data
	decode func([]byte) float32
	bps    int // bytes per sample
	fileCh int
	rs     *Resampler // nil when the file is at want.SampleRate

	mu      sync.Mutex
	closed  bool
	block   []byte    // raw bytes of one read
	samples []float32 // decoded file samples of one read
	mapped  []float32 // samples mapped to want.Channels
	pending []float32 // converted samples not yet delivered
}

// openWAV opens path, checks that its samples are 8, 16, 24 or 32-bit
// integer PCM or 32-bit float, and returns a looping source.
func openWAV(path string, want Format, log *slog.Logger) (*wavSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open wav: %w", err)
	}
	s, err := newWAV(f, path, want)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	conversion := "none"
	if s.rs != nil {
		conversion = fmt.Sprintf("resample %d -> %d Hz", s.rs.InRate(), want.SampleRate)
	}
	if s.fileCh != want.Channels {
		conversion += fmt.Sprintf(", %d -> %d channels", s.fileCh, want.Channels)
	}
	log.Info("audio input opened", "kind", "wav", "file_channels", s.fileCh,
		"file_bits", s.bps*8, "rate", want.SampleRate, "channels", want.Channels, "conversion", conversion)
	return s, nil
}

func newWAV(f *os.File, path string, want Format) (*wavSource, error) {
	var magic [12]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil || string(magic[:4]) != "RIFF" || string(magic[8:]) != "WAVE" {
		return nil, fmt.Errorf("%w: %s: not a RIFF WAVE file", ErrUnsupportedWAV, path)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("open wav: %w", err)
	}
	d := wav.NewDecoder(f)
	if !d.IsValidFile() {
		if err := d.Err(); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrUnsupportedWAV, path, err)
		}
		return nil, fmt.Errorf("%w: %s: not a readable wav file", ErrUnsupportedWAV, path)
	}
	bits, ch, rate := int(d.BitDepth), int(d.NumChans), int(d.SampleRate)
	decode, err := wavDecoder(d.WavAudioFormat, bits)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnsupportedWAV, path, err)
	}
	if rate <= 0 {
		return nil, fmt.Errorf("%w: %s: sample rate %d", ErrUnsupportedWAV, path, rate)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("open wav: %w", err)
	}
	d = wav.NewDecoder(f)
	if err := d.FwdToPCM(); err != nil || d.PCMChunk == nil {
		return nil, fmt.Errorf("%w: %s: no data chunk", ErrUnsupportedWAV, path)
	}
	start, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("open wav: %w", err)
	}
	bps := bits / 8
	frame := int64(bps * ch)
	size := int64(d.PCMSize)
	if st, err := f.Stat(); err == nil && start+size > st.Size() {
		size = st.Size() - start // a truncated file, or a data size of 0xFFFFFFFF
	}
	size -= size % frame
	if size <= 0 {
		return nil, fmt.Errorf("%w: %s: no samples", ErrUnsupportedWAV, path)
	}
	s := &wavSource{want: want, path: path, f: f, decode: decode, bps: bps, fileCh: ch}
	s.data = io.NewSectionReader(f, start, size)
	s.r = bufio.NewReaderSize(s.data, 64<<10)
	if rate != want.SampleRate {
		if s.rs, err = NewResampler(rate, want.SampleRate, want.Channels); err != nil {
			return nil, fmt.Errorf("open wav %s: %w", path, err)
		}
	}
	blockFrames := max(1, rate*want.FrameMs/1000)
	s.block = make([]byte, blockFrames*int(frame))
	return s, nil
}

// wavDecoder returns the function that turns one little-endian sample into
// a float32 in [-1, 1].
func wavDecoder(tag uint16, bits int) (func([]byte) float32, error) {
	isInt := tag == wavPCM || (tag == wavExtensible && bits <= 24)
	switch {
	case isInt && bits == 8:
		return func(b []byte) float32 { return (float32(b[0]) - 128) / 128 }, nil
	case isInt && bits == 16:
		return func(b []byte) float32 { return float32(int16(binary.LittleEndian.Uint16(b))) / (1 << 15) }, nil
	case isInt && bits == 24:
		return func(b []byte) float32 {
			v := int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8
			return float32(v) / (1 << 23)
		}, nil
	case isInt && bits == 32:
		return func(b []byte) float32 { return float32(float64(int32(binary.LittleEndian.Uint32(b))) / (1 << 31)) }, nil
	case tag == wavFloat && bits == 32:
		return func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }, nil
	case tag == wavExtensible:
		return nil, fmt.Errorf("extensible format with %d-bit samples: save as plain PCM or float", bits)
	default:
		return nil, fmt.Errorf("format tag %d with %d-bit samples: want 8, 16, 24 or 32-bit PCM or 32-bit float", tag, bits)
	}
}

// Format implements Source.
func (s *wavSource) Format() Format { return s.want }

// Read implements Source; at the end of the file it starts again from the
// beginning.
func (s *wavSource) Read(buf []float32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := checkFrame(buf, s.want); err != nil {
		return err
	}
	for len(s.pending) < len(buf) {
		if err := s.fill(); err != nil {
			return fmt.Errorf("audio: read wav %s: %w", s.path, err)
		}
	}
	n := copy(buf, s.pending)
	s.pending = s.pending[:copy(s.pending, s.pending[n:])]
	return nil
}

// fill reads up to one block of whole frames, wrapping at the end of the
// data, and appends the converted samples to pending.
func (s *wavSource) fill() error {
	n, err := io.ReadFull(s.r, s.block)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		if _, err := s.data.Seek(0, io.SeekStart); err != nil {
			return err
		}
		s.r.Reset(s.data)
	} else if err != nil {
		return err
	}
	s.samples = s.samples[:0]
	for i := 0; i+s.bps <= n; i += s.bps {
		s.samples = append(s.samples, s.decode(s.block[i:i+s.bps]))
	}
	s.mapped = mapChannels(s.mapped[:0], s.samples, s.fileCh, s.want.Channels)
	if s.rs != nil {
		s.pending = s.rs.Process(s.pending, s.mapped)
	} else {
		s.pending = append(s.pending, s.mapped...)
	}
	return nil
}

// Close implements Source.
func (s *wavSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("audio: close wav %s: %w", s.path, err)
	}
	return nil
}
