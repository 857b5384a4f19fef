package uplink_test

import (
	"github.com/onair-dev/onair/internal/leaktest"

	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hraban/opus"
	"github.com/onair-dev/onair/internal/waitfor"
	"github.com/onair-dev/onair/internal/whiptest"
	"github.com/onair-dev/onair/uplink"
)

// checkGoroutines checks that the test leaves no goroutine behind.
func checkGoroutines(t *testing.T) { leaktest.Check(t) }

// newServer starts a whiptest server closed at the end of the test.
func newServer(t *testing.T) *whiptest.Server {
	t.Helper()
	return newServerWith(t, whiptest.Config{})
}

func newServerWith(t *testing.T, cfg whiptest.Config) *whiptest.Server {
	t.Helper()
	srv, err := whiptest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// stateLog records OnState calls.
type stateLog struct {
	mu     sync.Mutex
	states []uplink.State
	errs   []error
}

func (l *stateLog) onState(s uplink.State, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.states = append(l.states, s)
	l.errs = append(l.errs, err)
}

// count returns how many times s was entered.
func (l *stateLog) count(s uplink.State) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, x := range l.states {
		if x == s {
			n++
		}
	}
	return n
}

// errorsOf returns the errors that came with state s.
func (l *stateLog) errorsOf(s uplink.State) []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []error
	for i, x := range l.states {
		if x == s {
			out = append(out, l.errs[i])
		}
	}
	return out
}

// wait waits until s was entered at least n times.
func (l *stateLog) wait(t *testing.T, s uplink.State, n int, timeout time.Duration) {
	t.Helper()
	if !waitfor.Poll(timeout, func() bool { return l.count(s) >= n }) {
		l.mu.Lock()
		defer l.mu.Unlock()
		t.Fatalf("state %s not entered %d times after %s; states: %v", s, n, timeout, l.states)
	}
}

// runner is the Run of a Publisher or a Subscriber under test.
type runner struct {
	states *stateLog
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	result error         // what Run returned
}

// testSettings returns what every Publisher and Subscriber under test is
// configured with: ICE on loopback, fast retries, the states recorded and,
// with -v, a debug log.
func testSettings(states *stateLog) (uplink.NetworkConfig, time.Duration, time.Duration, time.Duration, func(uplink.State, error), *slog.Logger) {
	var log *slog.Logger
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return uplink.NetworkConfig{Interfaces: []string{"lo"}, Loopback: true},
		50 * time.Millisecond, 200 * time.Millisecond, 5 * time.Second, states.onState, log
}

// startRunner calls run in a goroutine; the test's cleanup cancels it.
func startRunner(t *testing.T, states *stateLog, run func(context.Context) error) *runner {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{states: states, cancel: cancel, done: make(chan struct{})}
	go func() {
		r.result = run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() {
		if err := r.stop(t); err != nil && !errors.Is(err, uplink.ErrUnauthorized) {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

// wait waits for Run to return and returns its result.
func (r *runner) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-r.done:
		return r.result
	case <-time.After(timeout):
		t.Fatalf("Run did not return within %s", timeout)
		return nil
	}
}

// stop cancels Run and returns its result (Run may have returned before).
func (r *runner) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.wait(t, 10*time.Second)
}

// publisher is a running Publisher under test.
type publisher struct {
	*uplink.Publisher
	*runner
}

// startPublisher starts Run of a publisher with fast retries on loopback;
// the test's cleanup stops it.
func startPublisher(t *testing.T, cfg uplink.PublisherConfig) *publisher {
	t.Helper()
	states := &stateLog{}
	cfg.Network, cfg.RetryMin, cfg.RetryMax, cfg.RequestTimeout, cfg.OnState, cfg.Log = testSettings(states)
	p, err := uplink.NewPublisher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &publisher{Publisher: p, runner: startRunner(t, states, p.Run)}
}

// tone encodes a 440 Hz sine, 20 ms Opus frames at 48 kHz.
type tone struct {
	enc   *opus.Encoder
	pcm   []int16
	buf   []byte
	phase float64
}

const frameSamples = 960 // 20 ms at 48 kHz

func newTone(t *testing.T) *tone {
	t.Helper()
	enc, err := opus.NewEncoder(48000, 1, opus.AppAudio)
	if err != nil {
		t.Fatal(err)
	}
	return &tone{enc: enc, pcm: make([]int16, frameSamples), buf: make([]byte, 1500)}
}

// frame returns the next encoded frame (a new slice).
func (g *tone) frame(t *testing.T) []byte {
	for i := range g.pcm {
		g.pcm[i] = int16(0.5 * math.MaxInt16 * math.Sin(g.phase))
		g.phase += 2 * math.Pi * 440 / 48000
	}
	n, err := g.enc.Encode(g.pcm, g.buf)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), g.buf[:n]...)
}

// pump writes tone frames to p every 20 ms until stop is called or, if
// frames > 0, frames were written (then finished is closed); skip says
// which frame numbers are written empty (DTX).
func pump(t *testing.T, p *publisher, frames int, skip func(i int) bool) (stop func() int, finished <-chan struct{}) {
	t.Helper()
	g := newTone(t)
	done, end := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	var written int
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(end)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; frames <= 0 || i < frames; i++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			payload := g.frame(t)
			if skip != nil && skip(i) {
				payload = nil
			}
			if err := p.WriteOpus(payload, frameSamples); err != nil {
				t.Errorf("WriteOpus: %v", err)
			}
			written++
		}
	}()
	var once sync.Once
	stop = func() int {
		once.Do(func() { close(done) })
		wg.Wait()
		return written
	}
	t.Cleanup(func() { stop() })
	return stop, end
}
