package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/alsatest"
	"github.com/onair-dev/onair/internal/dsp"
	"github.com/onair-dev/onair/internal/whiptest"
)

// syncBuffer collects a child's output safely while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// loopbackEnv points onair's ICE at loopback only, as the test peer is.
var loopbackEnv = []string{"ONAIR_WEBRTC_INTERFACES=lo", "ONAIR_WEBRTC_LOOPBACK=true"}

// startOnair starts the binary with args and extra environment; the test
// kills it at cleanup if it is still running.
func startOnair(t *testing.T, env []string, args ...string) (*exec.Cmd, *syncBuffer, chan error) {
	t.Helper()
	cmd := exec.Command(onairBin, args...)
	cmd.Env = append(append(os.Environ(), loopbackEnv...), env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return cmd, out, done
}

// TestPublishFromALSAToWHIP: `onair publish` captures a 440 Hz sine from
// ALSA's file device through PortAudio, encodes and publishes it to a real
// pion WHIP peer, which decodes it. Over at least 5 s the tone is within
// ±2 Hz, at least 98 % of the expected packets arrive, RTP timestamps
// advance by exactly 960 per 20 ms packet, and SIGTERM ends the session
// with a DELETE and exit status 0.
//
// Not parallel: it checks the packet rate against the wall clock.
func TestPublishFromALSAToWHIP(t *testing.T) {
	const tone = 440.0
	alsa := alsatest.Setup(t, "", alsatest.Options{Signal: alsatest.Signal{Hz: tone, Seconds: 60}})
	srv, err := whiptest.New(whiptest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	cmd, out, done := startOnair(t, []string{"ALSA_CONFIG_PATH=" + alsa.ConfigPath},
		"publish", "--url", srv.URL()+"/whip/{channel}", "--channel", "e2e", "--uid", "7",
		"--input", "default", "--token", "secret-token")

	// 6 s of audio: 300 packets of 20 ms.
	if err := srv.WaitPackets(300, 30*time.Second); err != nil {
		t.Fatalf("%v\nonair output:\n%s", err, out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("onair exited with %v after SIGTERM\n%s", err, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("onair did not exit after SIGTERM\n%s", out.String())
	}

	posts := srv.RequestsOf("POST")
	if len(posts) != 1 {
		t.Fatalf("%d POSTs, want 1", len(posts))
	}
	if posts[0].Path != "/whip/e2e" || posts[0].Authorization != "Bearer secret-token" || posts[0].ContentType != "application/sdp" {
		t.Errorf("POST %s auth %q type %q, want /whip/e2e, Bearer secret-token, application/sdp",
			posts[0].Path, posts[0].Authorization, posts[0].ContentType)
	}
	if n := srv.Deletes(); n != 1 {
		t.Errorf("%d DELETEs after SIGTERM, want 1", n)
	}

	pkts := srv.Packets()
	sort.Slice(pkts, func(i, j int) bool {
		return int16(pkts[i].SequenceNumber-pkts[j].SequenceNumber) < 0
	})
	first, last := pkts[0], pkts[len(pkts)-1]
	wall := last.Arrival.Sub(first.Arrival)
	if wall < 5*time.Second {
		t.Fatalf("packets span %s, want at least 5 s", wall)
	}
	expectedByClock := int(wall/(20*time.Millisecond)) + 1
	expectedBySeq := int(uint16(last.SequenceNumber-first.SequenceNumber)) + 1
	t.Logf("%d packets over %s; expected %d by the wall clock, %d by sequence numbers",
		len(pkts), wall.Round(time.Millisecond), expectedByClock, expectedBySeq)
	// Loss is judged by sequence numbers; the pace against the wall clock
	// is logged only (a loaded machine delays the receiver, not the sender's
	// clock), and measured by the benchmarks.
	if float64(len(pkts)) < 0.98*float64(expectedBySeq) {
		t.Errorf("%d packets, want at least 98%% of %d", len(pkts), expectedBySeq)
	}
	for i := 1; i < len(pkts); i++ {
		dSeq := pkts[i].SequenceNumber - pkts[i-1].SequenceNumber
		dTS := pkts[i].Timestamp - pkts[i-1].Timestamp
		if dTS != 960*uint32(dSeq) {
			t.Fatalf("packet %d: timestamp advanced %d over %d packets, want 960 each", i, dTS, dSeq)
		}
	}

	pcm := srv.PCM()
	if len(pcm) < 5*48000 {
		t.Fatalf("decoded %d samples, want at least 5 s", len(pcm))
	}
	pcm = pcm[48000/10:] // skip the decoder's start
	if got := dsp.DominantFrequency(pcm, 48000); got < tone-2 || got > tone+2 {
		t.Errorf("dominant frequency %.2f Hz over %.1f s, want %.0f ± 2 Hz", got, float64(len(pcm))/48000, tone)
	}
	want := alsatest.Signal{Hz: tone}.RMS()
	if rms := dsp.RMS(pcm); rms < 0.5*want || rms > 1.5*want {
		t.Errorf("decoded RMS %.3f, want about %.3f", rms, want)
	}
}
