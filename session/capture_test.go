package session

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/onair-dev/onair/audio"
	"github.com/onair-dev/onair/internal/alsatest"
)

// eventLog records session events.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e.Name)
}

func (l *eventLog) names() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

// A host whose microphone is missing plays the fallback tone and reports
// mic-lost; when the microphone appears it switches to it and reports
// mic-restored, without ending the role.
func TestCaptureFallsBackAndRestores(t *testing.T) {
	c := testAudio
	wavPath := filepath.Join(t.TempDir(), "mic.wav")
	c.Input = "file:" + wavPath // not there yet: an unplugged microphone
	c.FallbackInput = "tone:660"
	events := &eventLog{}
	capt := newTestCapture(t, c, events)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var peaks []float64
	done := make(chan error, 1)
	go func() {
		done <- capt.run(ctx, func(f audio.Frame) error {
			mu.Lock()
			peaks = append(peaks, f.Level.PeakDBFS)
			mu.Unlock()
			return nil
		})
	}()
	time.Sleep(time.Second)
	if got := events.names(); len(got) != 1 || got[0] != EventMicLost {
		t.Fatalf("events %v, want [mic-lost]", got)
	}
	mu.Lock()
	n := len(peaks)
	mu.Unlock()
	if n < 20 {
		t.Fatalf("%d frames from the fallback in 1 s, want about 50", n)
	}
	// The microphone comes back: a louder signal than the -12 dBFS tone.
	if err := alsatest.WriteWAV(wavPath, alsatest.Signal{Hz: 440, Amplitude: 0.9, Seconds: 5}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * probeInterval)
	for time.Now().Before(deadline) && len(events.names()) < 2 {
		time.Sleep(50 * time.Millisecond)
	}
	if got := events.names(); len(got) != 2 || got[1] != EventMicRestored {
		t.Fatalf("events %v, want [mic-lost mic-restored]", got)
	}
	time.Sleep(200 * time.Millisecond)
	if l := capt.Level(); l.PeakDBFS < -3 {
		t.Errorf("level after restore %.1f dBFS peak, want the microphone's -0.9", l.PeakDBFS)
	}
	capt.SetMuted(true)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run = %v, want nil after cancel", err)
	}
}

// Without a fallback, a missing input sends nothing, reports mic-lost once
// and keeps probing until the role ends.
func TestCaptureWithoutFallback(t *testing.T) {
	c := testAudio
	c.Input = "file:" + filepath.Join(t.TempDir(), "none.wav")
	c.FallbackInput = ""
	events := &eventLog{}
	capt := newTestCapture(t, c, events)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	frames := 0
	if err := capt.run(ctx, func(audio.Frame) error { frames++; return nil }); err != nil {
		t.Fatal(err)
	}
	if frames != 0 {
		t.Errorf("%d frames without an input", frames)
	}
	if got := events.names(); len(got) != 1 || got[0] != EventMicLost {
		t.Errorf("events %v, want [mic-lost]", got)
	}
}

func newTestCapture(t *testing.T, c Audio, events *eventLog) *capture {
	t.Helper()
	capt, err := newCapture(c, testOpus, testLog(), events.add, func() {})
	if err != nil {
		t.Fatal(err)
	}
	return capt
}

func testLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
