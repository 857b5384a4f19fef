package systemd

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/notifytest"
	"github.com/onair-dev/onair/internal/waitfor"
)

// notifier returns a Notifier talking to a test socket, with the watchdog
// set to timeout (0: off).
func notifier(t *testing.T, timeout time.Duration) (*Notifier, <-chan string) {
	t.Helper()
	sock, msgs := notifytest.ListenNotify(t)
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_PID", "")
	if timeout > 0 {
		t.Setenv("WATCHDOG_USEC", strconv.FormatInt(timeout.Microseconds(), 10))
	} else {
		t.Setenv("WATCHDOG_USEC", "")
	}
	n, err := NewNotifier(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return n, msgs
}

// TestNotifierMessages: each method sends its assignment.
func TestNotifierMessages(t *testing.T) {
	n, msgs := notifier(t, 0)
	steps := []struct {
		send func() error
		want string
	}{
		{n.Ready, "READY=1"},
		{func() error { return n.Status("on air:\nlobby as host") }, "STATUS=on air: lobby as host"},
		{n.Reloading, "RELOADING=1"},
		{n.Stopping, "STOPPING=1"},
	}
	for _, s := range steps {
		if err := s.send(); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-msgs:
			if first, _, _ := strings.Cut(m, "\n"); first != s.want {
				t.Errorf("got %q, want %q", m, s.want)
			}
			if s.want == "RELOADING=1" && !strings.Contains(m, "\nMONOTONIC_USEC=") {
				t.Errorf("RELOADING without MONOTONIC_USEC: %q", m)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no message, want %q", s.want)
		}
	}
}

// TestNotifierWithoutSocket: outside systemd every method is a no-op.
func TestNotifierWithoutSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	n, err := NewNotifier(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []func() error{n.Ready, n.Reloading, n.Stopping, func() error { return n.Status("x") }} {
		if err := f(); err != nil {
			t.Error(err)
		}
	}
	if d := n.WatchdogTimeout(); d != 0 {
		t.Errorf("watchdog timeout %s without WATCHDOG_USEC", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := n.Watchdog(ctx, func() bool { return true }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Watchdog returned %v, want the context's error", err)
	}
}

// TestNotifierBadWatchdog: a malformed WATCHDOG_USEC is an error.
func TestNotifierBadWatchdog(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "soon")
	if _, err := NewNotifier(slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Fatal("no error for WATCHDOG_USEC=soon")
	}
}

// TestWatchdogOnlyWhileAlive: WATCHDOG=1 arrives every half timeout while
// alive() holds, exactly once for each check that holds: none while it does
// not, and they resume after.
func TestWatchdogOnlyWhileAlive(t *testing.T) {
	const timeout = 200 * time.Millisecond
	n, msgs := notifier(t, timeout)
	if n.WatchdogTimeout() != timeout {
		t.Fatalf("watchdog timeout %s, want %s", n.WatchdogTimeout(), timeout)
	}
	var alive atomic.Bool
	var holds, fails atomic.Int64 // alive's answers so far
	alive.Store(true)
	check := func() bool {
		if alive.Load() {
			holds.Add(1)
			return true
		}
		fails.Add(1)
		return false
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Watchdog(ctx, check) }()
	received := int64(0)
	ping := func(when string) {
		t.Helper()
		if _, err := notifytest.WaitFor(msgs, "WATCHDOG=1", 10*time.Second); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		received++
	}

	// Alive: a ping every 100 ms, so 5 take at least 4 intervals.
	start := time.Now()
	for range 5 {
		ping("alive")
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("5 pings in %s, want at least 400 ms", d)
	}

	// Stalled: three checks fail; every ping sent meanwhile is one of a
	// check that held before, and none follows.
	alive.Store(false)
	f0 := fails.Load()
	waitfor.Cond(t, 10*time.Second, func() bool { return fails.Load() >= f0+3 }, "three failed checks")
	for sent := holds.Load(); received < sent; {
		ping("sent before the stall")
	}
	if m, err := notifytest.WaitFor(msgs, "WATCHDOG=1", timeout); err == nil {
		t.Fatalf("got %q while not alive", m)
	}

	// Recovered: pings again.
	alive.Store(true)
	ping("recovered")
	if h := holds.Load(); received > h {
		t.Errorf("%d pings for %d checks that held", received, h)
	}

	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Watchdog returned %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Watchdog did not return after cancel")
	}
}
