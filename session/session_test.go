package session

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/onair-dev/onair/audio"
	"github.com/onair-dev/onair/channel"
	"github.com/onair-dev/onair/internal/alsatest"
	"github.com/onair-dev/onair/internal/relaytest"
)

var alsaEnv alsatest.Env

// TestMain points ALSA at file devices once for the package: ALSA caches
// its configuration per process.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "onair-session-")
	if err == nil {
		alsaEnv, err = alsatest.Write(dir, alsatest.Options{Signal: alsatest.Signal{Hz: 440, Seconds: 120}})
	}
	if err == nil {
		err = os.Setenv("ALSA_CONFIG_PATH", alsaEnv.ConfigPath)
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

// testAudio is the audio of a board with the ALSA file devices as input
// and output (and the shipped defaults: 48 kHz mono, 20 ms, a tone as
// fallback).
var testAudio = Audio{Input: "default", FallbackInput: "tone:440", Output: "default",
	SampleRate: 48000, Channels: 1, FrameMs: 20, JitterDelay: 40 * time.Millisecond}

// testOpus is the shipped encoder configuration.
var testOpus = audio.OpusOptions{Bitrate: 32000, Complexity: 5, Application: "audio", FEC: true, ExpectedLoss: 10}

// testConfig is the configuration of a session of uid as role in channel
// name on the test relay at base.
func testConfig(base, name, uid string, role channel.Role) Config {
	return Config{Channel: name, UID: uid, Role: role, Audio: testAudio, Opus: testOpus,
		Uplink: Uplink{
			WHIPURL: base + "/whip/{channel}?uid={uid}", WHEPURL: base + "/whep/{channel}?uid={uid}",
			RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond, Network: loopback,
		}}
}

// runSession runs s until the test ends and fails the test if Run fails.
func runSession(t *testing.T, s *Session) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("session: %v", err)
		}
	})
	for !s.running.Load() {
		time.Sleep(time.Millisecond)
	}
}

// openFDs counts the process's open file descriptors: sockets of
// PeerConnections, ALSA devices and files among them.
func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// settle waits until the goroutine and descriptor counts come down to at
// most want (teardown finishes asynchronously in pion), and returns them.
func settle(t *testing.T, goroutines, fds int) (int, int) {
	var g, f int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		g, f = runtime.NumGoroutine(), openFDs(t)
		if g <= goroutines && f <= fds {
			break
		}
	}
	return g, f
}

// TestRoleSwitches: a board in a channel with another host switches host →
// audience → host 100 times in one process. Every switch completes (the
// new session connects; as audience it plays the other host), and
// afterwards goroutines and open descriptors (sockets, ALSA devices) are
// back to their counts before the switches.
func TestRoleSwitches(t *testing.T) {
	base := startRelay(t)
	other := testConfig(base, "switch", "other", channel.RoleHost)
	other.Audio.Input = "tone:660"
	otherHost, err := New(other)
	if err != nil {
		t.Fatal(err)
	}
	runSession(t, otherHost)

	cfg := testConfig(base, "switch", "board", channel.RoleHost)
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runSession(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// One round trip first, so that every lazily created pool exists
	// before the baseline is taken.
	for _, r := range []channel.Role{channel.RoleAudience, channel.RoleHost} {
		if _, err := s.SetRole(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	g0, f0 := runtime.NumGoroutine(), openFDs(t)

	const switches = 100
	var toAudience, toHost []Switch
	for i := 0; i < switches; i++ {
		to := channel.RoleAudience
		if i%2 == 1 {
			to = channel.RoleHost
		}
		sw, err := s.SetRole(ctx, to)
		if err != nil {
			t.Fatalf("switch %d to %s: %v", i+1, to, err)
		}
		if sw.From == to || sw.To != to || s.Role() != to {
			t.Fatalf("switch %d: %+v, role now %s", i+1, sw, s.Role())
		}
		if sw.MediaGap == 0 {
			t.Errorf("switch %d to %s: no media within %s", i+1, to, mediaWait)
		}
		if to == channel.RoleAudience {
			toAudience = append(toAudience, sw)
		} else {
			toHost = append(toHost, sw)
		}
	}
	g1, f1 := settle(t, g0, f0)
	t.Logf("goroutines %d → %d, open descriptors %d → %d", g0, g1, f0, f1)
	if g1 > g0 || f1 > f0 {
		t.Errorf("after %d switches: %d goroutines (was %d), %d descriptors (was %d)", switches, g1, g0, f1, f0)
	}
	for _, set := range []struct {
		name string
		sw   []Switch
	}{{"host → audience", toAudience}, {"audience → host", toHost}} {
		gaps := make([]time.Duration, len(set.sw))
		for i, sw := range set.sw {
			gaps[i] = sw.MediaGap
		}
		sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
		t.Logf("%s: media gap median %s, max %s over %d switches", set.name,
			gaps[len(gaps)/2].Round(time.Millisecond), gaps[len(gaps)-1].Round(time.Millisecond), len(gaps))
	}
}

// A session refuses a bad channel or role up front, and SetRole before
// Run says so.
func TestSessionValidation(t *testing.T) {
	if _, err := New(testConfig("http://x", "a/b", "u", channel.RoleHost)); err == nil {
		t.Error("channel a/b accepted")
	}
	if _, err := New(testConfig("http://x", "ok", "u", channel.RoleUnknown)); err == nil {
		t.Error("unknown role accepted")
	}
	s, err := New(testConfig("http://x", "ok", "u", channel.RoleHost))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetRole(context.Background(), channel.RoleAudience); err != ErrNotRunning {
		t.Errorf("SetRole before Run = %v, want ErrNotRunning", err)
	}
}
