// Package waitfor waits in tests for a condition to hold, instead of
// sleeping for a time that is long enough on an idle machine only.
//
// The timeout of every wait is a deadline for a hung test, not a bound on
// how fast the code under test must be: pick it generously (seconds, not
// milliseconds). Timings belong in benchmarks.
package waitfor

import (
	"fmt"
	"testing"
	"time"
)

// Interval is how often a condition is polled.
const Interval = 10 * time.Millisecond

// Poll polls cond every Interval until it holds, reporting whether it did
// before timeout passed. cond is always evaluated at least once, and once
// more after the deadline, so a slow poll cannot miss a condition that
// came true meanwhile.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return cond()
		}
		time.Sleep(Interval)
	}
	return true
}

// Cond polls cond until it holds; if timeout passes first it fails t with
// the message formatted from format and args and stops the test.
func Cond(t testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	if !Poll(timeout, cond) {
		t.Fatalf("timed out after %s waiting for %s", timeout, fmt.Sprintf(format, args...))
	}
}
