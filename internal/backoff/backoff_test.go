package backoff

import (
	"context"
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
