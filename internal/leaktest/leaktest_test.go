package leaktest

import (
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that records Errorf instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, format)
}

// parked is a goroutine that waits on stop; its name shows in the stack.
func parked(stop <-chan struct{}, started chan<- struct{}) {
	close(started)
	<-stop
}

// TestWaitReportsNewGoroutine: a goroutine started after the snapshot and
// still parked is reported; once it ends, Wait is satisfied.
func TestWaitReportsNewGoroutine(t *testing.T) {
	s := Take()
	stop, started := make(chan struct{}), make(chan struct{})
	go parked(stop, started)
	<-started

	leaked := s.leaked()
	if len(leaked) != 1 || !strings.Contains(leaked[0].stack, "leaktest.parked") {
		t.Fatalf("leaked goroutines %+v, want the parked one", leaked)
	}
	r := &recorder{TB: t}
	s.Wait(r, 50*time.Millisecond)
	if len(r.errs) != 1 {
		t.Errorf("%d errors for a parked goroutine, want 1", len(r.errs))
	}

	close(stop)
	r = &recorder{TB: t}
	s.Wait(r, Timeout)
	if len(r.errs) != 0 {
		t.Errorf("errors after the goroutine ended: %v", r.errs)
	}
}

// TestOldGoroutineIsNoLeak: a goroutine that ran before the snapshot is
// not reported; a new one is, even when another old one ended meanwhile so
// that the count is back at its baseline.
func TestOldGoroutineIsNoLeak(t *testing.T) {
	stopKept, startedKept := make(chan struct{}), make(chan struct{})
	go parked(stopKept, startedKept)
	<-startedKept
	defer close(stopKept)
	stopEnded, startedEnded := make(chan struct{}), make(chan struct{})
	ended := make(chan struct{})
	go func() { parked(stopEnded, startedEnded); close(ended) }()
	<-startedEnded

	s := Take()
	if l := s.leaked(); len(l) != 0 {
		t.Fatalf("goroutines from before the snapshot reported: %+v", l)
	}
	close(stopEnded)
	<-ended
	stopNew, startedNew := make(chan struct{}), make(chan struct{})
	defer close(stopNew)
	go parked(stopNew, startedNew)
	<-startedNew
	if l := s.leaked(); len(l) != 1 || !strings.Contains(l[0].stack, "TestOldGoroutineIsNoLeak") {
		t.Errorf("leaked %+v, want only the goroutine started after the snapshot", l)
	}
}

// TestParse reads a goroutine of a dump: id, frames and creator.
func TestParse(t *testing.T) {
	g, ok := parse("goroutine 42 [select, 2 minutes]:\n" +
		"example.com/p.(*T).loop(0xc000010000)\n\t/src/p/t.go:12 +0x45\n" +
		"created by example.com/p.New in goroutine 1\n\t/src/p/t.go:8 +0x9a")
	if !ok || g.id != 42 || len(g.funcs) != 1 || g.funcs[0] != "example.com/p.(*T).loop" || g.creator != "example.com/p.New" {
		t.Fatalf("parsed %+v, %v", g, ok)
	}
	if g.system() {
		t.Error("an application goroutine classed as the runtime's")
	}
	g, _ = parse("goroutine 7 [chan receive]:\ntesting.(*T).Run(0xc0)\n\t/go/testing.go:1 +0x1\n" +
		"created by testing.runTests in goroutine 1\n\t/go/testing.go:2 +0x2")
	if !g.system() {
		t.Error("a test runner goroutine not classed as testing's")
	}
	if _, ok := parse("not a goroutine"); ok {
		t.Error("garbage parsed")
	}
}
