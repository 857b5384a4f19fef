package control

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/mqtttest"
)

// connRecorder is a Handler that signals every connection.
type connRecorder struct{ connected chan struct{} }

func (r connRecorder) Command(string, []byte) {}
func (r connRecorder) Connected()             { r.connected <- struct{}{} }
func (r connRecorder) Disconnected(error)     {}

// TestBackoffResetsAfterEveryConnection: across broker restarts shorter
// than the old 10 s stability rule, the pause before the first attempt
// after a lost connection is always drawn from RetryMin again, however
// many attempts the restart before it took.
func TestBackoffResetsAfterEveryConnection(t *testing.T) {
	m := mqtttest.Start(t, mqtttest.TestDir(t), "allow_anonymous true")
	const retryMin = 20 * time.Millisecond
	c, err := New(Config{Broker: m.URL("tcp"), DeviceID: "d1", RetryMin: retryMin, RetryMax: 10 * time.Second,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	type pause struct {
		wait     time.Duration
		accepted bool
	}
	var mu sync.Mutex
	var pauses []pause
	c.retrying = func(wait time.Duration, accepted bool) {
		mu.Lock()
		pauses = append(pauses, pause{wait, accepted})
		mu.Unlock()
	}
	rec := connRecorder{make(chan struct{}, 10)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, rec) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	waitConn := func() {
		t.Helper()
		select {
		case <-rec.connected:
		case <-time.After(10 * time.Second):
			t.Fatal("no connection after 10 s")
		}
	}
	waitConn()
	const restarts = 5
	for range restarts {
		m.Restart()
		waitConn()
	}
	mu.Lock()
	defer mu.Unlock()
	afterLoss := 0
	for i, p := range pauses {
		if p.accepted {
			afterLoss++
			if p.wait > retryMin {
				t.Errorf("pause %d after an accepted connection: %s, want at most RetryMin %s (all: %v)", i, p.wait, retryMin, pauses)
			}
		}
	}
	if afterLoss != restarts {
		t.Errorf("%d pauses after a lost connection, want %d: %v", afterLoss, restarts, pauses)
	}
}
