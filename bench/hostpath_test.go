// Package bench holds onair's benchmarks: `make bench` runs them and prints
// each figure next to a reference measured in the same run.
package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/hraban/opus"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/onair-dev/onair/audio"
	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/internal/alsatest"
)

// benchAudio is how much audio each pass of the host-path benchmark covers.
const benchAudio = 60 * time.Second

var alsaEnv alsatest.Env

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "onair-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Longer than every pass reads: the file device repeats its last
	// buffer when the file runs out.
	alsaEnv, err = alsatest.Write(dir, alsatest.Options{Signal: alsatest.Signal{Hz: 440, Seconds: 75}})
	if err == nil {
		err = os.Setenv("ALSA_CONFIG_PATH", alsaEnv.ConfigPath)
	}
	if err == nil {
		err = buildOnair(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var errDone = errors.New("done")

// hostPath runs capture (PortAudio on the ALSA file device) → gain, level,
// Opus encode → RTP packetize → SRTP protect over benchAudio, as fast as it
// goes, and returns the CPU time it took.
func hostPath(b *testing.B, opts audio.OpusOptions) time.Duration {
	f := audio.Format{SampleRate: 48000, Channels: 1, FrameMs: 20}
	src, err := audio.OpenSource("default", f, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	pipe, err := audio.NewPipeline(audio.PipelineConfig{Source: src, Opus: opts, Unpaced: true})
	if err != nil {
		b.Fatal(err)
	}
	srtpCtx, err := srtp.CreateContext(make([]byte, 16), make([]byte, 14), srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		b.Fatal(err)
	}
	frames := int(benchAudio / f.FrameDuration())
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SSRC: 0x0a1b2c3d}}
	plain := make([]byte, 1500)
	sealed := make([]byte, 1600)
	sent := 0

	start := cpuTime()
	err = pipe.Run(context.Background(), func(fr audio.Frame) error {
		pkt.SequenceNumber++
		pkt.Timestamp += fr.Samples
		pkt.Payload = fr.Payload
		n, err := pkt.MarshalTo(plain)
		if err != nil {
			return err
		}
		if _, err := srtpCtx.EncryptRTP(sealed, plain[:n], nil); err != nil {
			return err
		}
		if sent++; sent == frames {
			return errDone
		}
		return nil
	})
	used := cpuTime() - start
	if !errors.Is(err, errDone) {
		b.Fatal(err)
	}
	return used
}

// bareEncode encodes the same audio, already in memory, with libopus and
// the same settings, and returns the CPU time it took.
func bareEncode(b *testing.B, pcm []float32, o audio.OpusOptions) time.Duration {
	enc, err := opus.NewEncoder(48000, 1, opus.AppAudio)
	if err != nil {
		b.Fatal(err)
	}
	_ = enc.SetBitrate(o.Bitrate)
	_ = enc.SetComplexity(o.Complexity)
	_ = enc.SetInBandFEC(o.FEC)
	_ = enc.SetPacketLossPerc(o.ExpectedLoss)
	_ = enc.SetDTX(o.DTX)
	out := make([]byte, audio.MaxPacket)
	frames := int(benchAudio / (20 * time.Millisecond))
	start := cpuTime()
	for i := 0; i < frames; i++ {
		if _, err := enc.EncodeFloat32(pcm[i*960:(i+1)*960], out); err != nil {
			b.Fatal(err)
		}
	}
	return cpuTime() - start
}

// BenchmarkHostPath compares the whole host path with a bare libopus
// encode of the same audio, alternating five passes of each and taking
// the median of each.
func BenchmarkHostPath(b *testing.B) {
	d := config.Defaults().Opus
	opts := audio.OpusOptions{Bitrate: d.Bitrate, Complexity: d.Complexity, Application: d.Application,
		FEC: d.FEC, ExpectedLoss: d.ExpectedLoss, DTX: d.DTX}
	pcm, err := alsatest.ReadS16LE(alsaEnv.InPath)
	if err != nil {
		b.Fatal(err)
	}
	var path, bare []time.Duration
	for i := 0; i < 5; i++ {
		bare = append(bare, bareEncode(b, pcm, opts))
		path = append(path, hostPath(b, opts))
	}
	mb, mp := median(bare), median(path)
	rate := func(cpu time.Duration) float64 { return benchAudio.Seconds() / cpu.Seconds() }
	ratio := mp.Seconds() / mb.Seconds()
	fmt.Printf("\nhost path (capture → encode → packetize → SRTP), %s of 48 kHz mono at %d bit/s, complexity %d:\n",
		benchAudio, d.Bitrate, d.Complexity)
	fmt.Printf("  bare libopus encode   %8.1f audio-s per CPU-s\n", rate(mb))
	fmt.Printf("  whole host path       %8.1f audio-s per CPU-s\n", rate(mp))
	fmt.Printf("  cost ratio            %8.3f × the bare encode (goal ≤ 1.15)\n\n", ratio)
	b.ReportMetric(rate(mb), "bare-audio-s/cpu-s")
	b.ReportMetric(rate(mp), "path-audio-s/cpu-s")
	b.ReportMetric(ratio, "cost-ratio")
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
