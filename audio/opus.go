package audio

import (
	"fmt"

	"github.com/hraban/opus"
)

// OpusOptions are the encoder settings taken from configuration.
type OpusOptions struct {
	Bitrate      int    // bits per second
	Complexity   int    // 0 … 10
	Application  string // "audio", "voip" or "lowdelay"
	FEC          bool   // in-band forward error correction (RFC 6716 §2.1.7)
	ExpectedLoss int    // packet loss % the FEC is tuned for
	DTX          bool   // discontinuous transmission
}

// MaxPacket is the largest Opus packet onair produces (RFC 6716 §3.2.1
// bounds a 60 ms packet at 1275 bytes per 20 ms frame).
const MaxPacket = 4000

// Encoder encodes frames of one Format to Opus packets.
type Encoder struct {
	enc    *opus.Encoder
	format Format
	dtx    bool
}

// NewEncoder returns an encoder for frames of f with the options o.
func NewEncoder(f Format, o OpusOptions) (*Encoder, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("audio: opus encoder: %w", err)
	}
	app, err := opusApplication(o.Application)
	if err != nil {
		return nil, err
	}
	enc, err := opus.NewEncoder(f.SampleRate, f.Channels, app)
	if err != nil {
		return nil, fmt.Errorf("audio: opus encoder: %w", err)
	}
	for _, set := range []struct {
		name string
		err  error
	}{
		{"bitrate", enc.SetBitrate(o.Bitrate)},
		{"complexity", enc.SetComplexity(o.Complexity)},
		{"fec", enc.SetInBandFEC(o.FEC)},
		{"expected loss", enc.SetPacketLossPerc(o.ExpectedLoss)},
		{"dtx", enc.SetDTX(o.DTX)},
	} {
		if set.err != nil {
			return nil, fmt.Errorf("audio: opus encoder: set %s: %w", set.name, set.err)
		}
	}
	return &Encoder{enc: enc, format: f, dtx: o.DTX}, nil
}

func opusApplication(name string) (opus.Application, error) {
	switch name {
	case "audio":
		return opus.AppAudio, nil
	case "voip":
		return opus.AppVoIP, nil
	case "lowdelay":
		return opus.AppRestrictedLowdelay, nil
	}
	return 0, fmt.Errorf("audio: opus application %q: must be audio, voip or lowdelay", name)
}

// Encode encodes one frame of interleaved PCM into out and returns the
// packet length. With DTX on, a frame the encoder marks as silence (a
// packet of at most 2 bytes) returns 0: nothing is to be sent, but the RTP
// clock still advances (RFC 7587 §3.1.3).
func (e *Encoder) Encode(pcm []float32, out []byte) (int, error) {
	if len(pcm) != e.format.FrameLen() {
		return 0, fmt.Errorf("audio: opus encode: frame of %d samples, want %d", len(pcm), e.format.FrameLen())
	}
	n, err := e.enc.EncodeFloat32(pcm, out)
	if err != nil {
		return 0, fmt.Errorf("audio: opus encode: %w", err)
	}
	if e.dtx && n <= 2 {
		return 0, nil
	}
	return n, nil
}
