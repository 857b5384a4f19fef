package audio

import (
	"errors"
	"fmt"

	"github.com/hraban/opus"
)

// ErrBadPacket means a payload is not a well-formed Opus packet (RFC 6716 §3).
var ErrBadPacket = errors.New("malformed opus packet")

// MaxPacketSamples is the longest Opus packet, 120 ms, in 48 kHz samples
// (RFC 6716 §3.2.5).
const MaxPacketSamples = 5760

// opusMode is the coding mode a packet's TOC byte names (RFC 6716 §3.1).
type opusMode int

const (
	modeUnknown opusMode = iota
	modeSILK
	modeHybrid
	modeCELT
)

// opusTOC is what the first bytes of an Opus packet say about it.
type opusTOC struct {
	mode         opusMode
	stereo       bool
	frameSamples int // samples per frame at 48 kHz
	frames       int // frames in the packet
}

// parseTOC reads the TOC byte and, for code 3 packets, the frame count
// byte (RFC 6716 §3.1, §3.2.5).
func parseTOC(p []byte) (opusTOC, error) {
	if len(p) == 0 {
		return opusTOC{}, fmt.Errorf("%w: empty", ErrBadPacket)
	}
	config := int(p[0] >> 3)
	t := opusTOC{stereo: p[0]&0x04 != 0}
	switch {
	case config < 12:
		t.mode, t.frameSamples = modeSILK, []int{480, 960, 1920, 2880}[config%4]
	case config < 16:
		t.mode, t.frameSamples = modeHybrid, []int{480, 960}[config%2]
	default:
		t.mode, t.frameSamples = modeCELT, []int{120, 240, 480, 960}[config%4]
	}
	switch p[0] & 0x03 {
	case 0:
		t.frames = 1
	case 1, 2:
		t.frames = 2
	default:
		if len(p) < 2 {
			return opusTOC{}, fmt.Errorf("%w: code 3 without a frame count", ErrBadPacket)
		}
		t.frames = int(p[1] & 0x3f)
		if t.frames == 0 || t.frames*t.frameSamples > MaxPacketSamples {
			return opusTOC{}, fmt.Errorf("%w: %d frames of %d samples", ErrBadPacket, t.frames, t.frameSamples)
		}
	}
	return t, nil
}

// PacketSamples returns the duration of an Opus packet in 48 kHz samples,
// which is how far the sender's RTP timestamp advances for it (RFC 7587
// §4.1), from its TOC byte alone.
func PacketSamples(p []byte) (int, error) {
	t, err := parseTOC(p)
	if err != nil {
		return 0, err
	}
	return t.frames * t.frameSamples, nil
}

// frameLength decodes a frame length (RFC 6716 §3.2.1): one byte below
// 252, else two. size is 0 when b is too short.
func frameLength(b []byte) (n, size int) {
	switch {
	case len(b) == 0:
		return 0, 0
	case b[0] < 252:
		return int(b[0]), 1
	case len(b) < 2:
		return 0, 0
	default:
		return int(b[0]) + 4*int(b[1]), 2
	}
}

// firstFrame returns the compressed data of a packet's first frame, the one
// libopus reads FEC from (RFC 6716 §3.2).
func firstFrame(p []byte, t opusTOC) ([]byte, bool) {
	switch p[0] & 0x03 {
	case 0:
		return p[1:], true
	case 1:
		return p[1 : 1+(len(p)-1)/2], true
	case 2:
		n, k := frameLength(p[1:])
		if k == 0 || 1+k+n > len(p) {
			return nil, false
		}
		return p[1+k : 1+k+n], true
	}
	off, end, padding := 2, len(p), 0
	if p[1]&0x40 != 0 { // padding length bytes
		for {
			if off >= len(p) {
				return nil, false
			}
			b := p[off]
			off++
			if b < 255 {
				padding += int(b)
				break
			}
			padding += 254
		}
	}
	if end -= padding; end < off {
		return nil, false
	}
	if p[1]&0x80 == 0 { // CBR: equal frames
		return p[off : off+(end-off)/t.frames], true
	}
	first := -1
	for i := 0; i < t.frames-1; i++ {
		n, k := frameLength(p[off:end])
		if k == 0 {
			return nil, false
		}
		if first < 0 {
			first = n
		}
		off += k
	}
	if first < 0 || off+first > end {
		return nil, false
	}
	return p[off : off+first], true
}

// packetHasFEC reports whether a packet carries in-band FEC (LBRR) data
// for the audio before it. Only SILK and hybrid packets can; the flag is
// the bit after the VAD flags of each channel's SILK frames, which are the
// first range-coded symbols of the frame, each an even split, so they are
// the frame's leading bits (RFC 6716 §4.2.3, §4.1).
func packetHasFEC(p []byte) bool {
	t, err := parseTOC(p)
	if err != nil || t.mode == modeCELT {
		return false
	}
	data, ok := firstFrame(p, t)
	if !ok || len(data) == 0 {
		return false
	}
	silkFrames := max(1, t.frameSamples/960) // 20 ms SILK frames per Opus frame
	channels := 1
	if t.stereo {
		channels = 2
	}
	for c := 0; c < channels; c++ {
		bit := c*(silkFrames+1) + silkFrames
		if bit/8 < len(data) && data[bit/8]&(0x80>>(bit%8)) != 0 {
			return true
		}
	}
	return false
}

// Decoder decodes the Opus packets of one remote stream to interleaved
// float32 PCM at its format's rate and channel count (a mono stream is
// duplicated to stereo, a stereo one mixed down to mono), and conceals
// lost packets with the next packet's in-band FEC (RFC 6716 §2.1.7) or
// with packet loss concealment. It takes packets of any duration.
//
// A Decoder is not safe for concurrent use.
type Decoder struct {
	dec      *opus.Decoder
	rate     int
	channels int
	lastMode opusMode // mode of the last packet decoded, as libopus keeps it
}

// NewDecoder returns a decoder producing f.SampleRate and f.Channels;
// f.FrameMs is not used.
func NewDecoder(f Format) (*Decoder, error) {
	if !contains(OpusRates, f.SampleRate) || (f.Channels != 1 && f.Channels != 2) {
		return nil, fmt.Errorf("audio: opus decoder: %d Hz %d channels: rate must be one of %v and channels 1 or 2", f.SampleRate, f.Channels, OpusRates)
	}
	d := &Decoder{rate: f.SampleRate, channels: f.Channels}
	if err := d.Reset(); err != nil {
		return nil, err
	}
	return d, nil
}

// Reset forgets the stream decoded so far, for a new sender.
func (d *Decoder) Reset() error {
	dec, err := opus.NewDecoder(d.rate, d.channels)
	if err != nil {
		return fmt.Errorf("audio: opus decoder: %w", err)
	}
	d.dec, d.lastMode = dec, modeUnknown
	return nil
}

// BufferLen returns the length a PCM buffer given to Decode needs: the
// longest packet, interleaved.
func (d *Decoder) BufferLen() int { return MaxPacketSamples * d.rate / 48000 * d.channels }

// Decode decodes one packet into pcm, which must hold BufferLen samples,
// and returns the samples per channel written.
func (d *Decoder) Decode(payload []byte, pcm []float32) (int, error) {
	t, err := parseTOC(payload)
	if err != nil {
		return 0, fmt.Errorf("audio: opus decode: %w", err)
	}
	if len(pcm) < d.BufferLen() {
		return 0, fmt.Errorf("audio: opus decode: buffer of %d samples, want %d", len(pcm), d.BufferLen())
	}
	n, err := d.dec.DecodeFloat32(payload, pcm[:d.BufferLen():d.BufferLen()])
	if err != nil {
		return 0, fmt.Errorf("audio: opus decode: %w", err)
	}
	d.lastMode = t.mode
	return n, nil
}

// DecodeFEC fills pcm, the whole lost stretch just before packet next
// (interleaved), from next's in-band FEC data, or by concealment where
// there is none: libopus conceals all but the last frame-length of the
// stretch and recovers that from the LBRR data. It reports whether FEC was
// used; without it (a CELT packet, no LBRR data, a stretch shorter than
// next's frames) the stretch is concealed by PLC. The decoder is then ready
// to decode next itself.
func (d *Decoder) DecodeFEC(next []byte, pcm []float32) (bool, error) {
	t, err := parseTOC(next)
	usable := err == nil && d.lastMode != modeCELT && packetHasFEC(next) &&
		len(pcm)/d.channels >= t.frameSamples*d.rate/48000
	if !usable {
		return false, d.Conceal(pcm)
	}
	if err := d.dec.DecodeFECFloat32(next, pcm[:len(pcm):len(pcm)]); err != nil {
		return false, fmt.Errorf("audio: opus decode fec: %w", err)
	}
	d.lastMode = t.mode
	return true, nil
}

// Conceal fills pcm (interleaved, a multiple of 2.5 ms) with packet loss
// concealment continuing the audio decoded so far; it fades to silence
// over a few lost frames.
func (d *Decoder) Conceal(pcm []float32) error {
	if err := d.dec.DecodePLCFloat32(pcm[:len(pcm):len(pcm)]); err != nil {
		return fmt.Errorf("audio: opus conceal: %w", err)
	}
	return nil
}
