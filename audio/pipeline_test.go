package audio

import (
	"context"
	"errors"
	"testing"

	"github.com/hraban/opus"

	"github.com/onair-dev/onair/internal/dsp"
)

// silence is a clockless source of zeros.
type silence struct{ f Format }

func (s silence) Format() Format           { return s.f }
func (s silence) Read(buf []float32) error { clear(buf); return nil }
func (s silence) Close() error             { return nil }

var errEnough = errors.New("enough frames")

// runFrames runs an unpaced pipeline over src until n frames were emitted
// and returns copies of them.
func runFrames(t *testing.T, src Source, o OpusOptions, n int) []Frame {
	t.Helper()
	p, err := NewPipeline(PipelineConfig{Source: src, Opus: o, Unpaced: true})
	if err != nil {
		t.Fatal(err)
	}
	var frames []Frame
	err = p.Run(context.Background(), func(f Frame) error {
		f.Payload = append([]byte(nil), f.Payload...)
		frames = append(frames, f)
		if len(frames) == n {
			return errEnough
		}
		return nil
	})
	if !errors.Is(err, errEnough) {
		t.Fatalf("Run = %v, want the emit error back", err)
	}
	if p.Frames() != uint64(n) {
		t.Errorf("Frames() = %d, want %d", p.Frames(), n)
	}
	return frames
}

var testOpus = OpusOptions{Bitrate: 32000, Complexity: 5, Application: "audio", FEC: true, ExpectedLoss: 5}

// The pipeline encodes every frame of a tone in order: decoding the packets
// gives the tone back, and each frame advances the RTP clock by one frame.
func TestPipelineEncodesTone(t *testing.T) {
	f := Format{SampleRate: 48000, Channels: 1, FrameMs: 20}
	src, err := OpenSource("tone:440", f, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	frames := runFrames(t, src, testOpus, 250)

	dec, err := opus.NewDecoder(48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	var pcm []float32
	buf := make([]float32, 5760)
	for i, fr := range frames {
		if fr.Samples != 960 {
			t.Fatalf("frame %d advances the clock by %d, want 960", i, fr.Samples)
		}
		if len(fr.Payload) == 0 {
			t.Fatalf("frame %d is empty", i)
		}
		n, err := dec.DecodeFloat32(fr.Payload, buf)
		if err != nil {
			t.Fatal(err)
		}
		pcm = append(pcm, buf[:n]...)
	}
	if len(pcm) != 250*960 {
		t.Errorf("decoded %d samples, want %d", len(pcm), 250*960)
	}
	if got := dsp.DominantFrequency(pcm[4800:], 48000); got < 439 || got > 441 {
		t.Errorf("decoded tone at %.2f Hz, want 440", got)
	}
	if l := frames[100].Level; l.PeakDBFS < -12.5 || l.PeakDBFS > -11.5 {
		t.Errorf("level peak %.2f dBFS, want -12 (the tone's)", l.PeakDBFS)
	}
}

// With DTX, silence yields empty payloads that still advance the clock.
// libopus runs DTX in its SILK modes, so the voip application.
func TestPipelineDTXSkipsSilence(t *testing.T) {
	f := Format{SampleRate: 48000, Channels: 1, FrameMs: 20}
	o := testOpus
	o.DTX, o.Application = true, "voip"
	frames := runFrames(t, silence{f}, o, 100)
	empty := 0
	for _, fr := range frames {
		if fr.Samples != 960 {
			t.Fatalf("frame advances the clock by %d, want 960", fr.Samples)
		}
		if len(fr.Payload) == 0 {
			empty++
		}
	}
	if empty < 50 {
		t.Errorf("%d of 100 silent frames suppressed by DTX, want most", empty)
	}
}

// Every frame length and Opus-native rate encodes, and the clock advance
// is always the frame on the 48 kHz clock.
func TestPipelineFormats(t *testing.T) {
	for _, rate := range OpusRates {
		for _, ms := range FrameDurations {
			for _, ch := range []int{1, 2} {
				f := Format{SampleRate: rate, Channels: ch, FrameMs: ms}
				frames := runFrames(t, silence{f}, testOpus, 3)
				if frames[0].Samples != uint32(48*ms) {
					t.Errorf("%+v: clock advance %d, want %d", f, frames[0].Samples, 48*ms)
				}
			}
		}
	}
}

func TestEncoderRejectsBadOptions(t *testing.T) {
	f := Format{SampleRate: 48000, Channels: 1, FrameMs: 20}
	if _, err := NewEncoder(f, OpusOptions{Bitrate: 32000, Application: "music"}); err == nil {
		t.Error("application music accepted")
	}
	if _, err := NewEncoder(Format{SampleRate: 44100, Channels: 1, FrameMs: 20}, testOpus); err == nil {
		t.Error("44.1 kHz accepted by the encoder")
	}
	enc, err := NewEncoder(f, testOpus)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Encode(make([]float32, 100), make([]byte, MaxPacket)); err == nil {
		t.Error("short frame accepted")
	}
}

// A muted pipeline sends silence but still measures the input.
func TestPipelineMute(t *testing.T) {
	f := Format{SampleRate: 48000, Channels: 1, FrameMs: 20}
	src, err := OpenSource("tone:440", f, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	p, err := NewPipeline(PipelineConfig{Source: src, Opus: testOpus, Unpaced: true})
	if err != nil {
		t.Fatal(err)
	}
	p.SetMuted(true)
	dec, err := opus.NewDecoder(48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 960)
	var pcm []float32
	n := 0
	err = p.Run(context.Background(), func(fr Frame) error {
		if _, err := dec.DecodeFloat32(fr.Payload, buf); err != nil {
			return err
		}
		pcm = append(pcm, buf...)
		if fr.Level.PeakDBFS < -13 {
			t.Errorf("muted frame level %.1f dBFS, want the input's -12", fr.Level.PeakDBFS)
		}
		if n++; n == 50 {
			return errEnough
		}
		return nil
	})
	if !errors.Is(err, errEnough) {
		t.Fatal(err)
	}
	if rms := dsp.RMS(pcm); rms > 1e-3 {
		t.Errorf("muted output RMS %.4f, want silence", rms)
	}
}
