package waitfor

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// TestPoll: a condition that comes true from another goroutine is seen;
// one that never does is reported false once the deadline has passed.
func TestPoll(t *testing.T) {
	var done atomic.Bool
	go func() {
		for range 3 {
			time.Sleep(Interval)
		}
		done.Store(true)
	}()
	if !Poll(time.Minute, done.Load) {
		t.Fatal("condition set by another goroutine not seen")
	}
	calls := 0
	if Poll(0, func() bool { calls++; return false }) {
		t.Fatal("a false condition reported true")
	}
	if calls < 2 {
		t.Errorf("condition evaluated %d times, want once more after the deadline", calls)
	}
}

// TestCondFails: Cond fails the test when the deadline passes.
func TestCondFails(t *testing.T) {
	ft := &fakeT{TB: t}
	func() {
		defer func() { _ = recover() }()
		Cond(ft, 0, func() bool { return false }, "the %s", "thing")
	}()
	if ft.msg != "timed out after 0s waiting for the thing" {
		t.Errorf("message %q", ft.msg)
	}
}

// fakeT records Fatalf's message and stops the caller by panicking.
type fakeT struct {
	testing.TB
	msg string
}

func (f *fakeT) Helper() {}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic("fatal")
}
