package device

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/onair-dev/onair/session"
	"github.com/onair-dev/onair/uplink"
)

// waitFor bounds every wait of the agent tests.
const waitFor = 5 * time.Second

// message is one publication recorded by fakePublisher.
type message struct {
	kind    string // reply, state, telemetry, event
	topic   string
	payload []byte
}

// fakePublisher records what the agent publishes.
type fakePublisher struct {
	mu     sync.Mutex
	msgs   []message
	notify chan struct{} // signalled on every publication
}

func newFakePublisher() *fakePublisher { return &fakePublisher{notify: make(chan struct{}, 1)} }

func (p *fakePublisher) add(kind, topic string, b []byte) error {
	p.mu.Lock()
	p.msgs = append(p.msgs, message{kind, topic, append([]byte(nil), b...)})
	p.mu.Unlock()
	select {
	case p.notify <- struct{}{}:
	default:
	}
	return nil
}

func (p *fakePublisher) PublishReply(topic string, b []byte) error { return p.add("reply", topic, b) }
func (p *fakePublisher) PublishState(b []byte) error               { return p.add("state", "", b) }
func (p *fakePublisher) PublishTelemetry(b []byte) error           { return p.add("telemetry", "", b) }
func (p *fakePublisher) PublishEvent(b []byte) error               { return p.add("event", "", b) }
func (p *fakePublisher) DefaultReplyTopic() string                 { return "onair/d1/reply" }

// all returns the publications of kind so far.
func (p *fakePublisher) all(kind string) []message {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []message
	for _, m := range p.msgs {
		if m.kind == kind {
			out = append(out, m)
		}
	}
	return out
}

// await waits until cond holds of the publisher, failing the test after
// waitFor.
func (p *fakePublisher) await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(waitFor)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-p.notify:
		case <-time.After(10 * time.Millisecond):
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// testReply is a decoded reply.
type testReply struct {
	ID    *string          `json:"id"`
	OK    bool             `json:"ok"`
	State *json.RawMessage `json:"state"`
	Error *ErrorBody       `json:"error"`
	topic string
}

// replies returns the replies with id ("" for null).
func (p *fakePublisher) replies(t *testing.T, id string) []testReply {
	t.Helper()
	var out []testReply
	for _, m := range p.all("reply") {
		var r testReply
		if err := json.Unmarshal(m.payload, &r); err != nil {
			t.Fatalf("reply %s: %v", m.payload, err)
		}
		rid := ""
		if r.ID != nil {
			rid = *r.ID
		}
		if rid == id {
			r.topic = m.topic
			out = append(out, r)
		}
	}
	return out
}

// reply waits for the reply to id and returns it.
func (p *fakePublisher) reply(t *testing.T, id string) testReply {
	t.Helper()
	p.await(t, "reply "+id, func() bool { return len(p.replies(t, id)) > 0 })
	return p.replies(t, id)[0]
}

// testState is a decoded reported state.
type testState struct {
	Device     string     `json:"device"`
	State      string     `json:"state"`
	Channel    *string    `json:"channel"`
	Role       *string    `json:"role"`
	UID        *string    `json:"uid"`
	Muted      bool       `json:"muted"`
	Publishing bool       `json:"publishing"`
	Hosts      []string   `json:"hosts"`
	Error      *ErrorBody `json:"error"`
	Since      string     `json:"since"`
	Version    string     `json:"version"`
}

// state returns the last published state, nil if none.
func (p *fakePublisher) state(t *testing.T) *testState {
	t.Helper()
	all := p.all("state")
	if len(all) == 0 {
		return nil
	}
	var s testState
	if err := json.Unmarshal(all[len(all)-1].payload, &s); err != nil {
		t.Fatalf("state %s: %v", all[len(all)-1].payload, err)
	}
	return &s
}

// awaitState waits for a published state in state st.
func (p *fakePublisher) awaitState(t *testing.T, st string) *testState {
	t.Helper()
	p.await(t, "state "+st, func() bool { s := p.state(t); return s != nil && s.State == st })
	return p.state(t)
}

// events returns the published events named name.
func (p *fakePublisher) events(t *testing.T, name string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range p.all("event") {
		var e map[string]any
		if err := json.Unmarshal(m.payload, &e); err != nil {
			t.Fatalf("event %s: %v", m.payload, err)
		}
		if e["event"] == name {
			out = append(out, e)
		}
	}
	return out
}

// fakeSession stands for a device.Session: Run blocks until its context
// ends or the test ends it with an error; the test reports its uplink
// states through the OnState callback it was configured with.
type fakeSession struct {
	cfg     session.Config
	end     chan error    // a value makes Run return it
	stuck   bool          // Run ignores its context (set before Run)
	running chan struct{} // closed when Run started
	ended   chan struct{} // closed when Run returned

	mu      sync.Mutex
	role    Role
	roles   []Role // SetRole calls
	muted   []bool
	gains   []float64
	stats   session.Stats
	setRole func(ctx context.Context, r Role) (session.Switch, error) // nil: connect in r at once
}

func (f *fakeSession) Run(ctx context.Context) error {
	close(f.running)
	defer close(f.ended)
	f.cfg.OnState(f.cfg.Role, uplink.StateConnecting, nil)
	done := ctx.Done()
	if f.stuck {
		done = nil
	}
	select {
	case <-done:
		f.cfg.OnState(f.currentRole(), uplink.StateClosed, nil)
		return nil
	case err := <-f.end:
		return err
	}
}

func (f *fakeSession) currentRole() Role {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.role
}

func (f *fakeSession) SetRole(ctx context.Context, r Role) (session.Switch, error) {
	f.mu.Lock()
	from := f.role
	f.roles = append(f.roles, r)
	f.role = r
	hook := f.setRole
	f.mu.Unlock()
	if hook != nil {
		return hook(ctx, r)
	}
	f.cfg.OnState(from, uplink.StateClosed, nil)
	f.cfg.OnState(r, uplink.StateConnected, nil)
	return session.Switch{From: from, To: r}, nil
}

func (f *fakeSession) SetMuted(m bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.muted = append(f.muted, m)
}

func (f *fakeSession) SetGain(db float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gains = append(f.gains, db)
}

func (f *fakeSession) Stats() session.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stats
	s.Role = f.role
	return s
}

func (f *fakeSession) setRoles() []Role {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Role(nil), f.roles...)
}

// connect reports the session connected in its current role.
func (f *fakeSession) connect() { f.cfg.OnState(f.currentRole(), uplink.StateConnected, nil) }

// sessions is the fake NewSession: it records every session it creates.
type sessions struct {
	created chan *fakeSession
	fail    error // non-nil: NewSession fails with it
	stuck   bool  // sessions ignore their context

	mu  sync.Mutex
	all []*fakeSession
}

func newSessions() *sessions { return &sessions{created: make(chan *fakeSession, 100)} }

func (ss *sessions) new(cfg session.Config) (Session, error) {
	if ss.fail != nil {
		return nil, ss.fail
	}
	f := &fakeSession{cfg: cfg, role: cfg.Role, end: make(chan error, 1), stuck: ss.stuck,
		running: make(chan struct{}), ended: make(chan struct{})}
	ss.mu.Lock()
	ss.all = append(ss.all, f)
	ss.mu.Unlock()
	ss.created <- f
	return f, nil
}

func (ss *sessions) count() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.all)
}

// next waits for the next session created and for its Run.
func (ss *sessions) next(t *testing.T) *fakeSession {
	t.Helper()
	select {
	case f := <-ss.created:
		select {
		case <-f.running:
		case <-time.After(waitFor):
			t.Fatal("session created but not run")
		}
		return f
	case <-time.After(waitFor):
		t.Fatal("timed out waiting for a session")
	}
	return nil
}

// none asserts that no session is created within d.
func (ss *sessions) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case f := <-ss.created:
		t.Fatalf("unexpected session for %q as %s", f.cfg.Channel, f.cfg.Role)
	case <-time.After(d):
	}
}

// harness runs one agent with fakes.
type harness struct {
	t      *testing.T
	a      *Agent
	pub    *fakePublisher
	ss     *sessions
	cancel context.CancelFunc
	runErr chan error
	n      int // commands sent, for ids
}

type harnessOpts struct {
	dir      string
	autojoin *Desired
	cfg      func(*AgentConfig)
	ss       *sessions
}

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	if o.ss == nil {
		o.ss = newSessions()
	}
	h := &harness{t: t, pub: newFakePublisher(), ss: o.ss, runErr: make(chan error, 1)}
	cfg := AgentConfig{
		DeviceID: "d1", Version: "test", StateDir: o.dir, RetryMin: 20 * time.Millisecond, RetryMax: 50 * time.Millisecond,
		Publisher: h.pub, NewSession: h.ss.new, Autojoin: o.autojoin, Log: testLog(),
		JoinTimeout: 2 * time.Second, TelemetryInterval: -1,
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	a, err := NewAgent(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.a = a
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.runErr <- a.Run(ctx) }()
	t.Cleanup(func() { h.stop() })
	return h
}

// stop ends Run and waits for it; safe to call twice.
func (h *harness) stop() error {
	h.t.Helper()
	h.cancel()
	select {
	case err, ok := <-h.runErr:
		if ok {
			close(h.runErr)
		}
		return err
	case <-time.After(waitFor):
		h.t.Fatal("Run did not return")
	}
	return nil
}

// send sends the command cmd (a JSON object without id) with a fresh id
// and returns the id.
func (h *harness) send(cmd string) string {
	h.n++
	id := "c-" + itoa(h.n)
	var m map[string]any
	if err := json.Unmarshal([]byte(cmd), &m); err != nil {
		h.t.Fatal(err)
	}
	m["id"] = id
	b, _ := json.Marshal(m)
	h.a.Command("onair/d1/cmd", b)
	return id
}

// ok sends cmd and asserts an ok reply.
func (h *harness) ok(cmd string) testReply {
	h.t.Helper()
	id := h.send(cmd)
	r := h.pub.reply(h.t, id)
	if !r.OK {
		h.t.Fatalf("%s: reply %+v, want ok", cmd, r.Error)
	}
	return r
}

// fails sends cmd and asserts an error reply with code.
func (h *harness) fails(cmd string, code Code) testReply {
	h.t.Helper()
	id := h.send(cmd)
	r := h.pub.reply(h.t, id)
	if r.OK || r.Error == nil || r.Error.Code != code {
		h.t.Fatalf("%s: reply ok=%v error %+v, want %s", cmd, r.OK, r.Error, code)
	}
	return r
}

// sync makes sure every command sent before has been applied: a status
// command is answered after them.
func (h *harness) sync() {
	h.t.Helper()
	h.ok(`{"action":"status"}`)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

var errTest = errors.New("test failure")
