package device

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/onair-dev/onair/audio"
	"github.com/onair-dev/onair/internal/alsatest"
	"github.com/onair-dev/onair/internal/relaytest"
	"github.com/onair-dev/onair/session"
)

// noCaptureEnv, when set, makes TestMain give ALSA no capture device at
// all: TestHeartbeatWithoutInput runs its check in such a child process.
const noCaptureEnv = "ONAIR_TEST_NO_CAPTURE"

// TestMain points ALSA at file devices once for the package: ALSA caches
// its configuration per process.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "onair-device-")
	opts := alsatest.Options{Signal: alsatest.Signal{Hz: 440, Seconds: 120}}
	if os.Getenv(noCaptureEnv) != "" {
		opts = alsatest.Options{NoCapture: true}
	}
	var env alsatest.Env
	if err == nil {
		env, err = alsatest.Write(dir, opts)
	}
	if err == nil {
		err = os.Setenv("ALSA_CONFIG_PATH", env.ConfigPath)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var loopback = relaytest.Loopback

// startRelay serves an anonymous relay on loopback until the test ends.
func startRelay(t *testing.T) string { return relaytest.Start(t) }

// testSession is the session template of a board on the test relay at
// base, with the ALSA file devices as input and output.
func testSession(base string) session.Config {
	return session.Config{
		Audio: session.Audio{Input: "default", FallbackInput: "tone:440", Output: "default",
			SampleRate: 48000, Channels: 1, FrameMs: 20, JitterDelay: 40 * time.Millisecond},
		Opus: audio.OpusOptions{Bitrate: 32000, Complexity: 5, Application: "audio", FEC: true, ExpectedLoss: 10},
		Uplink: session.Uplink{
			WHIPURL: base + "/whip/{channel}?uid={uid}", WHEPURL: base + "/whep/{channel}?uid={uid}",
			RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond, Network: loopback,
		},
	}
}

func testLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// TestAgentRealSession drives a real Session (ALSA file devices, the
// embedded relay on loopback) through join, mute, gain, host → audience →
// host and leave: the agent's view of the session's callbacks holds with
// the real thing.
func TestAgentRealSession(t *testing.T) {
	base := startRelay(t)
	h := newHarness(t, harnessOpts{cfg: func(c *AgentConfig) {
		c.Session = testSession(base)
		c.NewSession = nil
		c.JoinTimeout = 10 * time.Second
	}})
	h.ok(`{"action":"join","channel":"real","uid":"b1"}`)
	if s := h.pub.awaitState(t, "joined"); !s.Publishing || *s.Role != "host" {
		t.Fatalf("state %+v", s)
	}
	h.ok(`{"action":"mute"}`)
	h.ok(`{"action":"set_gain","gain_db":-3}`)
	h.ok(`{"action":"set_role","role":"audience"}`)
	if s := h.pub.awaitState(t, "joined"); s.Publishing || *s.Role != "audience" || !s.Muted {
		t.Fatalf("state %+v", s)
	}
	h.ok(`{"action":"set_role","role":"host"}`)
	h.pub.awaitState(t, "joined")
	h.ok(`{"action":"leave"}`)
	h.pub.awaitState(t, "idle")
	if len(h.pub.events(t, "connection-state")) < 4 {
		t.Error("too few connection-state events")
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
}

// settleGoroutines waits until the goroutine count comes down to at most
// want (teardown finishes asynchronously in pion), or 10 s passed, and
// returns it.
func settleGoroutines(want int) int {
	g := runtime.NumGoroutine()
	for deadline := time.Now().Add(10 * time.Second); g > want && time.Now().Before(deadline); g = runtime.NumGoroutine() {
		time.Sleep(100 * time.Millisecond)
	}
	return g
}

// TestHeartbeatWithoutInput: a host on a board without any input device
// (ALSA has no capture device, no fallback input) stays alive for the
// watchdog while it reports mic-lost and keeps probing: Alive holds at
// each of several beats of the agent loop, well past maxAge.
func TestHeartbeatWithoutInput(t *testing.T) {
	if os.Getenv(noCaptureEnv) == "" {
		// ALSA reads its configuration once per process: the check runs
		// in a child whose ALSA has no capture device.
		const name = "TestHeartbeatWithoutInput"
		cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), noCaptureEnv+"=1")
		out, err := cmd.CombinedOutput()
		t.Logf("child:\n%s", out)
		if err != nil || !strings.Contains(string(out), "--- PASS: "+name) {
			t.Fatalf("child: %v", err)
		}
		return
	}
	const (
		maxAge = time.Second // the agent loop beats every second
		beats  = 5           // agent loop beats checked
	)
	base := startRelay(t)
	hb := &Heartbeat{}
	h := newHarness(t, harnessOpts{cfg: func(c *AgentConfig) {
		c.Session = testSession(base)
		c.Session.Audio.FallbackInput = ""
		c.NewSession = nil
		c.Heartbeat = hb
	}})
	h.send(`{"action":"join","channel":"nomic","uid":"b1"}`)
	h.pub.await(t, "mic-lost", func() bool { return len(h.pub.events(t, "mic-lost")) > 0 })
	if !hb.audio.Playing() {
		t.Fatal("no role playing after mic-lost")
	}
	start := time.Now()
	for i := range beats {
		last := hb.loop.Load()
		h.pub.await(t, "an agent loop beat", func() bool { return hb.loop.Load() != last })
		if !hb.Alive(maxAge) {
			t.Fatalf("beat %d, %s after mic-lost: not alive", i+1, time.Since(start).Round(time.Millisecond))
		}
	}
	if !hb.audio.Playing() {
		t.Fatal("the host role ended")
	}
	if n := len(h.pub.events(t, "mic-lost")); n != 1 {
		t.Errorf("%d mic-lost events, want 1", n)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
}
