// Package leaktest checks that tests leave no goroutines behind.
//
// Like pion's test.CheckRoutines it compares goroutine stacks rather than
// counts: it records which goroutines run before the test and, after it,
// reports those that are new (a goroutine's id is never reused within a
// process), leaving out the runtime's and the testing package's own.
// A count can come back to its baseline while one goroutine leaks and
// another, older one ends; a set of stacks cannot.
package leaktest

import (
	"bytes"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/waitfor"
)

// Timeout is how long Check waits for new goroutines to end: a deadline
// for goroutines that never do, not a bound on how fast they must.
const Timeout = 10 * time.Second

// Check registers, as a cleanup of t (registered first, it runs last), a
// check that the goroutines started since Check was called have ended
// within Timeout; a leak fails t with the stack of every leaked goroutine.
func Check(t testing.TB) {
	t.Helper()
	s := Take()
	t.Cleanup(func() { s.Wait(t, Timeout) })
}

// Snapshot is the set of goroutines that ran at one moment.
type Snapshot struct {
	ids map[uint64]bool
}

// Take records the goroutines running now.
func Take() Snapshot {
	s := Snapshot{ids: map[uint64]bool{}}
	for _, g := range goroutines() {
		s.ids[g.id] = true
	}
	return s
}

// Wait waits until every goroutine that is not in s, and not one of the
// runtime's or the testing package's, has ended. If some still run after
// timeout, it fails t with their stacks.
func (s Snapshot) Wait(t testing.TB, timeout time.Duration) {
	t.Helper()
	var leaked []goroutine
	if waitfor.Poll(timeout, func() bool { leaked = s.leaked(); return len(leaked) == 0 }) {
		return
	}
	var b strings.Builder
	for _, g := range leaked {
		b.WriteString("\n\n")
		b.WriteString(g.stack)
	}
	t.Errorf("goroutine leak: %d goroutines started since the snapshot still run after %s:%s", len(leaked), timeout, b.String())
}

// leaked returns the goroutines running now that are not in s and not the
// runtime's or testing's, oldest first.
func (s Snapshot) leaked() []goroutine {
	var out []goroutine
	for _, g := range goroutines() {
		if !s.ids[g.id] && !g.system() {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// goroutine is one goroutine of a runtime.Stack dump.
type goroutine struct {
	id uint64
	// stack is the goroutine's text in the dump, header included.
	stack string
	// funcs are the functions of its frames, innermost first.
	funcs []string
	// creator is the function that started it (the "created by" line), if
	// any.
	creator string
}

// systemFuncs are functions whose goroutines belong to the runtime or to
// the testing package (other tests, the alarm, signal handling): a
// goroutine running or created by one of them is never a leak.
var systemFuncs = []string{
	"testing.(*T).Run",
	"testing.(*T).Parallel",
	"testing.tRunner",
	"testing.runTests",
	"testing.(*M).",
	"testing.(*B).",
	"testing.runFuzzing",
	"os/signal.signal_recv",
	"os/signal.loop",
	"runtime.ensureSigM",
	"runtime.goexit",
	"runtime.gc",
	"runtime.bgsweep",
	"runtime.bgscavenge",
	"runtime.forcegchelper",
	"runtime.runfinq",
	"runtime.runCleanups",
	"runtime.unique_runtime_registerUniqueMapCleanup",
	"runtime/trace.",
	"runtime.ReadTrace",
}

// system reports whether g is one of the runtime's or testing's goroutines:
// its outermost frame (where it started) or its creator is one of
// systemFuncs.
func (g goroutine) system() bool {
	if len(g.funcs) == 0 {
		return true
	}
	for _, f := range []string{g.funcs[len(g.funcs)-1], g.creator} {
		for _, s := range systemFuncs {
			if f != "" && strings.HasPrefix(f, s) {
				return true
			}
		}
	}
	return false
}

// goroutines parses a dump of every goroutine's stack.
func goroutines() []goroutine {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []goroutine
	for _, block := range bytes.Split(buf, []byte("\n\n")) {
		if g, ok := parse(string(block)); ok {
			out = append(out, g)
		}
	}
	return out
}

// parse reads one goroutine of a dump:
//
//	goroutine 7 [select]:
//	pkg.(*T).loop(0xc000010000)
//		/src/pkg/t.go:12 +0x45
//	created by pkg.New in goroutine 1
//		/src/pkg/t.go:8 +0x9a
func parse(block string) (goroutine, bool) {
	lines := strings.Split(strings.TrimSpace(block), "\n")
	head, ok := strings.CutPrefix(lines[0], "goroutine ")
	if !ok {
		return goroutine{}, false
	}
	idText, _, _ := strings.Cut(head, " ")
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil {
		return goroutine{}, false
	}
	g := goroutine{id: id, stack: strings.TrimSpace(block)}
	for _, l := range lines[1:] {
		if l == "" || strings.HasPrefix(l, "\t") || strings.HasPrefix(l, "...") {
			continue
		}
		if c, ok := strings.CutPrefix(l, "created by "); ok {
			g.creator, _, _ = strings.Cut(c, " in goroutine ")
			continue
		}
		fn := l
		if i := strings.LastIndex(fn, "("); i > 0 {
			fn = fn[:i]
		}
		g.funcs = append(g.funcs, fn)
	}
	return g, true
}
