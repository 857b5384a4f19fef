// Package leaktest checks that tests leave no goroutines behind.
package leaktest

import (
	"runtime"
	"testing"
	"time"
)

// Check registers, as a cleanup of t (registered first, it runs last), a
// check that the number of goroutines comes back to what it is now within
// 5 s; a leak fails t with every goroutine's stack.
func Check(t testing.TB) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() { Wait(t, base, 5*time.Second) })
}

// Wait waits until at most base goroutines run, failing t with every
// goroutine's stack if they are still more after timeout.
func Wait(t testing.TB, base int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("goroutine leak: %d before, %d after\n%s", base, n, buf)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
