package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onair-dev/onair/broker"
	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/control"
	"github.com/onair-dev/onair/internal/leaktest"
)

// waitFor bounds every wait of these tests for a condition.
const waitFor = 15 * time.Second

// checkGoroutines is leaktest.Check with room for a connection attempt
// the MQTT client abandoned at stop (a component failed while it
// connected): paho ends it within its connect timeout (see control.Run).
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := leaktest.Take()
	t.Cleanup(func() { before.Wait(t, control.DefaultConnectTimeout+5*time.Second) })
}

// logRecord is one log line: its message and attributes.
type logRecord struct {
	msg   string
	attrs map[string]string
}

// logs records what the daemon logs.
type logs struct {
	mu      sync.Mutex
	records []logRecord
}

func (l *logs) add(r logRecord) {
	l.mu.Lock()
	l.records = append(l.records, r)
	l.mu.Unlock()
}

// count is how many records have message msg.
func (l *logs) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.records {
		if r.msg == msg {
			n++
		}
	}
	return n
}

// attr is attribute key of the last record with message msg.
func (l *logs) attr(msg, key string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.records) - 1; i >= 0; i-- {
		if l.records[i].msg == msg {
			return l.records[i].attrs[key]
		}
	}
	return ""
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, r := range l.records {
		fmt.Fprintf(&b, "%s %v\n", r.msg, r.attrs)
	}
	return b.String()
}

// await waits until msg was logged n times.
func (l *logs) await(t *testing.T, msg string, n int) {
	t.Helper()
	for deadline := time.Now().Add(waitFor); l.count(msg) < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%q logged %d times, want %d; the log:\n%s", msg, l.count(msg), n, l)
		}
	}
}

// logHandler is a slog.Handler that records into logs.
type logHandler struct {
	l     *logs
	attrs []slog.Attr
}

func (h logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h logHandler) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{}
	for _, a := range h.attrs {
		m[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	h.l.add(logRecord{msg: r.Message, attrs: m})
	return nil
}

func (h logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{l: h.l, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h logHandler) WithGroup(string) slog.Handler { return h }

// fakeNotifier records what the daemon tells systemd, as sd_notify
// assignments ("READY=1", "STATUS=idle", …).
type fakeNotifier struct {
	mu   sync.Mutex
	msgs []string
}

func (n *fakeNotifier) add(m string) error {
	n.mu.Lock()
	n.msgs = append(n.msgs, m)
	n.mu.Unlock()
	return nil
}

func (n *fakeNotifier) Ready() error                   { return n.add("READY=1") }
func (n *fakeNotifier) Reloading() error               { return n.add("RELOADING=1") }
func (n *fakeNotifier) Stopping() error                { return n.add("STOPPING=1") }
func (n *fakeNotifier) Status(s string) error          { return n.add("STATUS=" + s) }
func (n *fakeNotifier) WatchdogTimeout() time.Duration { return 0 }

func (n *fakeNotifier) Watchdog(ctx context.Context, _ func() bool) error {
	<-ctx.Done()
	return ctx.Err()
}

// count is how many times m was sent.
func (n *fakeNotifier) count(m string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, x := range n.msgs {
		if x == m {
			c++
		}
	}
	return c
}

// await waits until m was sent c times.
func (n *fakeNotifier) await(t *testing.T, m string, c int) {
	t.Helper()
	for deadline := time.Now().Add(waitFor); n.count(m) < c; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			n.mu.Lock()
			t.Fatalf("%q sent %d times, want %d; sent: %q", m, n.count(m), c, n.msgs)
			n.mu.Unlock()
		}
	}
}

// testConfig is a board with an embedded broker on a free loopback port,
// no relay, idle at start.
func testConfig(t *testing.T) *config.Config {
	c := config.Defaults()
	c.Device.ID = "dm"
	c.Device.StateDir = filepath.Join(t.TempDir(), "state")
	c.Device.Autojoin = false
	c.MQTT.Listen = "127.0.0.1:0"
	c.Relay.Enabled = false
	return &c
}

// harness runs the daemon with a load function that returns what the test
// set last and a reload channel the test fills.
type harness struct {
	logs    *logs
	notify  *fakeNotifier
	reloads chan os.Signal
	opts    Options

	mu      sync.Mutex
	next    *config.Config
	loadErr error
}

func newHarness() *harness {
	h := &harness{logs: &logs{}, notify: &fakeNotifier{}, reloads: make(chan os.Signal, 1)}
	h.opts = Options{
		Load:    h.load,
		Reloads: h.reloads,
		Notify:  h.notify,
		Logger:  func(config.Log) *slog.Logger { return slog.New(logHandler{l: h.logs}) },
		Version: "test",
	}
	return h
}

func (h *harness) load() (*config.Config, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.loadErr != nil {
		return nil, h.loadErr
	}
	c := *h.next
	return &c, nil
}

// reload has the next load return cfg (or fail with err) and asks the
// daemon to reload.
func (h *harness) reload(cfg *config.Config, err error) {
	h.mu.Lock()
	h.next, h.loadErr = cfg, err
	h.mu.Unlock()
	h.reloads <- os.Interrupt // any value is a reload request
}

// start runs f (Run or runOnce) in a goroutine; stop ends it and returns
// its error.
func start(f func(ctx context.Context) error) (stop func(t *testing.T) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	return func(t *testing.T) error {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(waitFor):
			t.Fatal("the daemon did not return")
		}
		return nil
	}
}

// status sends the board of cfg a status command over the broker at url,
// as its operator (the credential in the board's state directory), and
// returns the reply.
func status(t *testing.T, url string, cfg *config.Config) string {
	t.Helper()
	creds, err := broker.ReadCredentials(cfg.Device.StateDir)
	if err != nil {
		t.Fatalf("operator credential: %v", err)
	}
	reply, err := control.Request(context.Background(), control.Config{Broker: url, Log: slog.New(slog.DiscardHandler),
		Username: broker.OperatorUser, Password: creds.Operator},
		"dm", []byte(`{"action":"status"}`), waitFor)
	if err != nil {
		t.Fatalf("status over %s: %v", url, err)
	}
	return string(reply)
}
