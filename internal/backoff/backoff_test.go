package backoff

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	b := New(100*time.Millisecond, time.Second)
	b.rand = func(n int64) int64 { return n - 1 } // top of the jitter range
	var got []time.Duration
	for range 6 {
		got = append(got, b.Next())
	}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("waits %v, want %v ms", got, want)
		}
	}
	b.Reset()
	b.rand = func(int64) int64 { return 0 } // bottom of the jitter range
	if d := b.Next(); d != 50*time.Millisecond {
		t.Errorf("after reset: %s, want 50ms", d)
	}
	real := New(time.Second, 4*time.Second)
	for range 20 {
		if d := real.Next(); d < 500*time.Millisecond || d > 4*time.Second {
			t.Fatalf("wait %s out of bounds", d)
		}
	}
}

// TestDelayJitter: the n-th wait lies in [base/2, base] for the base
// min·2^(n-1) capped at max, both ends are reachable, and Delay leaves the
// sequence of Next alone.
func TestDelayJitter(t *testing.T) {
	b := New(20*time.Millisecond, 50*time.Millisecond)
	bases := map[int]time.Duration{1: 20, 2: 40, 3: 50, 4: 50, 40: 50}
	for n, base := range bases {
		base *= time.Millisecond
		for range 200 {
			if d := b.Delay(n); d < base/2 || d > base {
				t.Fatalf("Delay(%d) = %s, want within [%s, %s]", n, d, base/2, base)
			}
		}
		b.rand = func(int64) int64 { return 0 }
		if d := b.Delay(n); d != base/2 {
			t.Errorf("Delay(%d) at the bottom of the jitter = %s, want %s", n, d, base/2)
		}
		b.rand = func(m int64) int64 { return m - 1 }
		if d := b.Delay(n); d != base {
			t.Errorf("Delay(%d) at the top of the jitter = %s, want %s", n, d, base)
		}
		b.rand = rand.Int64N
	}
	b.rand = func(m int64) int64 { return m - 1 }
	if d := b.Next(); d != 20*time.Millisecond {
		t.Errorf("first Next after Delay calls = %s, want 20ms", d)
	}
}

func TestSleep(t *testing.T) {
	if !Sleep(context.Background(), time.Millisecond) {
		t.Error("Sleep without cancellation returned false")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Error("Sleep after cancellation returned true")
	}
}
