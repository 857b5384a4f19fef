package device

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onair-dev/onair/control"
	"github.com/onair-dev/onair/internal/backoff"
	"github.com/onair-dev/onair/internal/defaults"
	"github.com/onair-dev/onair/session"
)

// Defaults of AgentConfig.
const (
	DefaultJoinTimeout       = 10 * time.Second
	DefaultTelemetryInterval = defaults.TelemetryInterval
	DefaultLeaveTimeout      = 4 * time.Second
	DefaultMaxQueued         = 64
)

// statusQueueFactor times MaxQueued bounds the commands queued when a
// status arrives: a status is cheap and tells an operator what the board
// is busy with, so it is admitted past a queue full of other commands.
const statusQueueFactor = 4

// publisher is what the agent needs of the MQTT transport (package
// control). Every method must return promptly (enqueue, not wait for the
// broker): the agent calls them from its loop.
type publisher interface {
	PublishReply(topic string, payload []byte) error // QoS 1, not retained
	PublishState(payload []byte) error               // P/D/state, retained
	PublishTelemetry(payload []byte) error           // P/D/telemetry
	PublishEvent(payload []byte) error               // P/D/events
	DefaultReplyTopic() string                       // P/D/reply
}

// meters is the source of the audio and uplink numbers of telemetry.
type meters interface {
	Stats() session.Stats
}

// Session is what the agent drives of a session.Session: one channel
// membership, run until its context ends, with live role switch, mute and
// gain. *session.Session implements it.
type Session interface {
	Run(ctx context.Context) error
	SetRole(ctx context.Context, r Role) (session.Switch, error)
	SetMuted(muted bool)
	SetGain(db float64)
	meters
}

// AgentConfig configures an Agent.
type AgentConfig struct {
	DeviceID string // the device id D of the MQTT topics; required
	Version  string // reported in the state
	// StateDir holds DesiredFile; created (0700) if missing. Empty: the
	// desired state is not persisted (tests, benchmarks).
	StateDir string
	// Session is the template of every session's configuration (its
	// audio, opus and uplink values): the agent sets the channel, uid,
	// token, role, gain, log, callbacks and heartbeat of each join.
	Session session.Config
	// Token and UID are the default token and uid of a join without them
	// (uplink.token, uplink.uid); an empty UID means DeviceID.
	Token, UID string
	// TopicPrefix is P of the MQTT topics (mqtt.topic_prefix); empty:
	// control.DefaultTopicPrefix. A reply_to under P's contract topics is
	// refused.
	TopicPrefix string
	// GainDB is the input gain of a desired state without one
	// (audio.gain_db).
	GainDB float64
	// RetryMin and RetryMax bound the backoff between restarts of a
	// session that ended (uplink.retry_min, retry_max); 0: the uplink's
	// defaults.
	RetryMin, RetryMax time.Duration
	Publisher          publisher // required
	// OnState, if set, is called from the agent's loop with every state it
	// publishes, typed (systemd's status line is made from it); it must
	// return promptly and may keep what it is given.
	OnState func(Reported)
	// NewSession creates the session of a join; nil means session.New.
	NewSession func(session.Config) (Session, error)
	// Autojoin is the desired state at the first start, when StateDir has
	// no DesiredFile yet (a board fresh out of the box); nil: idle.
	Autojoin *Desired
	Log      *slog.Logger
	Now      func() time.Time // stamps and expires_at checks; nil means time.Now
	// JoinTimeout bounds the wait for a join's (set_role's, renew_token's)
	// reply: when the session has not connected by then, the command is
	// answered unavailable and the session keeps trying. 0: the default.
	JoinTimeout time.Duration
	// TelemetryInterval is the period of telemetry (mqtt.telemetry_interval);
	// 0: the default; negative: no telemetry.
	TelemetryInterval time.Duration
	// TokenFor, if set, gives the token of a session whose join carried
	// none and uplink.token is empty: a standalone board mints host tokens
	// (host may publish and subscribe) for its own embedded relay.
	TokenFor func(channel, uid string) string
	// Heartbeat, if set, is beaten by the agent loop every second and by
	// the running role's audio loop at every frame (systemd's watchdog).
	Heartbeat *Heartbeat
	// LeaveTimeout bounds the leave at shutdown (DELETE sent, devices
	// closed); 0: the default.
	LeaveTimeout time.Duration
	// MaxQueued bounds the commands received and not yet applied; one
	// more is answered unavailable at once ("busy: N commands queued"),
	// a status only past statusQueueFactor times it. 0: the default.
	MaxQueued int
}

// Agent is the device agent: it applies the fleet's commands to the board's
// session one at a time, persists the desired state, and reports state,
// replies, telemetry and events through its publisher. Its state lives in
// one goroutine, Run's loop; the handler methods (Command, Connected,
// Disconnected) and the session's callbacks only send events to it.
type Agent struct {
	cfg        AgentConfig
	prefix     string       // the MQTT topic prefix P
	base       *slog.Logger // for the sessions
	log        *slog.Logger
	now        func() time.Time
	newSession func(session.Config) (Session, error)

	events *mailbox     // from handlers and callbacks to the loop
	queued atomic.Int64 // commands in events
	ran    atomic.Bool
	wg     sync.WaitGroup // the sessions' Run and switch goroutines

	// loop goroutine only:
	m         machine
	queue     []event // events the loop raised itself, handled first
	cur       *liveSession
	unsaved   unsavedPending // a held command whose change was not saved
	lastState []byte         // the state last published
	timers    agentTimers
	tele      *telemetrySampler
	started   time.Time
	retry     *backoff.Backoff // the pause before a restart, by failures (Delay)
}

// NewAgent validates cfg and returns an Agent; nothing starts before Run.
func NewAgent(cfg AgentConfig) (*Agent, error) {
	if cfg.DeviceID == "" || strings.ContainsAny(cfg.DeviceID, "/+#\x00") {
		return nil, fmt.Errorf("device: agent: device id %q: must be a non-empty MQTT topic level", cfg.DeviceID)
	}
	if cfg.Publisher == nil {
		return nil, errors.New("device: agent: no publisher")
	}
	if cfg.Autojoin != nil {
		if err := cfg.Autojoin.Validate(); err != nil {
			return nil, fmt.Errorf("device: agent: autojoin: %w", err)
		}
	}
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = DefaultJoinTimeout
	}
	if cfg.TelemetryInterval == 0 {
		cfg.TelemetryInterval = DefaultTelemetryInterval
	}
	if cfg.LeaveTimeout <= 0 {
		cfg.LeaveTimeout = DefaultLeaveTimeout
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = DefaultMaxQueued
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Agent{
		cfg:        cfg,
		prefix:     cmp.Or(cfg.TopicPrefix, control.DefaultTopicPrefix),
		base:       log,
		log:        log.With("component", "agent"),
		now:        cfg.Now,
		newSession: cfg.NewSession,
		events:     newMailbox(),
		tele:       newTelemetrySampler(),
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.newSession == nil {
		a.newSession = func(c session.Config) (Session, error) { return session.New(c) }
	}
	uid := cfg.UID
	if uid == "" {
		uid = cfg.DeviceID
	}
	if err := validateUID(uid); err != nil {
		return nil, fmt.Errorf("device: agent: default uid %q: %w", uid, err)
	}
	if err := validateToken(cfg.Token); err != nil {
		return nil, fmt.Errorf("device: agent: uplink.token: %w", err)
	}
	a.retry = restartBackoff(cfg.RetryMin, cfg.RetryMax)
	a.m = newMachine(machineConfig{
		device: cfg.DeviceID, version: cfg.Version,
		token: cfg.Token, uid: uid, gainDB: cfg.GainDB,
		joinTimeout: cfg.JoinTimeout,
	})
	return a, nil
}

// restartBackoff paces the restarts of a session that ended: from
// uplink.retry_min doubled per failure up to uplink.retry_max, with
// jitter.
func restartBackoff(lo, hi time.Duration) *backoff.Backoff {
	if lo <= 0 {
		lo = defaults.UplinkRetryMin
	}
	if hi < lo {
		hi = max(lo, defaults.UplinkRetryMax)
	}
	return backoff.New(lo, hi)
}

// Command hands a command received on topic to the agent. It parses the
// command and queues it, and never blocks (the transport's delivery
// goroutine calls it); commands are applied in the order of their Command
// calls. A command beyond MaxQueued waiting ones, and any after Run has
// returned, it has answered unavailable.
func (a *Agent) Command(topic string, payload []byte) {
	cmd, err := ParseCommand(payload)
	var cerr *CommandError
	errors.As(err, &cerr)
	if rerr := a.checkReplyTo(cmd, cerr); rerr != nil {
		cmd, cerr = Command{}, rerr
	}
	ev := evCommand{topic: topic, cmd: cmd, err: cerr}
	limit := int64(a.cfg.MaxQueued)
	if cerr == nil && cmd.Action == ActionStatus {
		limit *= statusQueueFactor
	}
	if n := a.queued.Add(1); n > limit {
		a.queued.Add(-1)
		go a.refuse(ev, fmt.Sprintf("busy: %d commands queued", n-1)) // not from the transport's goroutine
		return
	}
	if !a.send(ev) {
		go a.refuse(ev, "agent stopped")
	}
}

// checkReplyTo refuses, invalid_argument and answered on the default
// reply topic, a command (or a refusal) whose reply_to is a topic of the
// contract other than a reply topic (control.CheckReplyTo): a reply there
// would be obeyed or reported as something else. nil: the reply_to is
// absent or fine.
func (a *Agent) checkReplyTo(cmd Command, cerr *CommandError) *CommandError {
	id, topic := cmd.ID, cmd.ReplyTo
	if cerr != nil {
		id, topic = cerr.ID, cerr.ReplyTo
	}
	if topic == "" {
		return nil
	}
	if err := control.CheckReplyTo(a.prefix, topic); err != nil {
		return &CommandError{ID: id, Code: CodeInvalidArgument, Message: "reply_to: " + err.Error()}
	}
	return nil
}

// Connected tells the agent the transport (re)connected to the broker; it
// republishes its retained state. It does not block.
func (a *Agent) Connected() { a.send(evTransport{up: true}) }

// Disconnected tells the agent the transport lost the broker. It does not
// block.
func (a *Agent) Disconnected(err error) { a.send(evTransport{err: err}) }

// send queues ev for the loop; false when the loop has ended.
func (a *Agent) send(ev event) bool { return a.events.put(ev) }

// refuse answers a command the loop will not apply unavailable with msg.
func (a *Agent) refuse(ev evCommand, msg string) {
	id, topic := ev.cmd.ID, ev.cmd.ReplyTo
	if ev.err != nil {
		id, topic = ev.err.ID, ev.err.ReplyTo
	}
	a.publishReply(effReply{id: id, topic: topic,
		err: &ErrorBody{Code: CodeUnavailable, Message: msg}}, nil)
}

// mailbox is the loop's queue of events. It is unbounded so that no
// sender (the transport's delivery goroutine, the session's callbacks)
// ever blocks on the loop; it holds parsed commands, not payloads, and
// Command bounds how many (MaxQueued).
type mailbox struct {
	mu     sync.Mutex
	q      []event
	closed bool
	ready  chan struct{} // holds a token while q is not empty
}

func newMailbox() *mailbox { return &mailbox{ready: make(chan struct{}, 1)} }

// put queues ev; false when the mailbox is closed.
func (mb *mailbox) put(ev event) bool {
	mb.mu.Lock()
	if mb.closed {
		mb.mu.Unlock()
		return false
	}
	mb.q = append(mb.q, ev)
	mb.mu.Unlock()
	select {
	case mb.ready <- struct{}{}:
	default:
	}
	return true
}

// take returns the events queued, in order, and empties the queue.
func (mb *mailbox) take() []event {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	q := mb.q
	mb.q = nil
	return q
}

// close refuses later events and returns those still queued.
func (mb *mailbox) close() []event {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	mb.closed = true
	q := mb.q
	mb.q = nil
	return q
}

// Run loads and applies the desired state, then applies commands until
// ctx ends; then it leaves the channel (the session's DELETE sent, devices
// closed, within LeaveTimeout), publishes its final state (idle) without
// changing the desired state, and returns nil. Run may be called once.
func (a *Agent) Run(ctx context.Context) error {
	if !a.ran.CompareAndSwap(false, true) {
		return errors.New("device: agent: already run")
	}
	return a.run(ctx)
}

func (a *Agent) run(ctx context.Context) error {
	a.started = a.now()
	wait := true // for the session goroutines, unless one is stuck
	defer func() {
		for _, ev := range a.events.close() {
			if c, ok := ev.(evCommand); ok {
				a.refuse(c, "agent stopped")
			}
		}
		a.timers.stop()
		if wait {
			a.wg.Wait()
		}
	}()
	want, warn := a.loadDesired()
	a.queue = append(a.queue, evStart{want: want, warn: warn})

	var tick <-chan time.Time
	if a.cfg.TelemetryInterval > 0 {
		t := time.NewTicker(a.cfg.TelemetryInterval)
		defer t.Stop()
		tick = t.C
		a.tele.sample(a.now(), nil, 0) // the first CPU reading
	}
	beat := time.NewTicker(time.Second)
	defer beat.Stop()
	a.cfg.Heartbeat.beatLoop()
	done := ctx.Done()
	var leaveBy <-chan time.Time
	a.drain()
	for !a.m.finished() {
		select {
		case <-a.events.ready:
			for _, ev := range a.events.take() {
				if _, ok := ev.(evCommand); ok {
					a.queued.Add(-1)
				}
				a.handle(ev)
				a.drain()
			}
		case <-a.timers.timeout.C():
			a.handle(a.timers.timeout.ev)
		case <-a.timers.retry.C():
			a.handle(a.timers.retry.ev)
		case <-a.timers.token.C():
			a.handle(a.timers.token.ev)
		case <-tick:
			a.publishTelemetry()
		case <-beat.C:
			a.cfg.Heartbeat.beatLoop()
		case <-done:
			done = nil
			t := time.NewTimer(a.cfg.LeaveTimeout)
			defer t.Stop()
			leaveBy = t.C
			a.handle(evShutdown{})
		case <-leaveBy:
			wait = false
			a.log.Error("session did not end in time at shutdown", "timeout", a.cfg.LeaveTimeout)
			return fmt.Errorf("device: agent: leave at shutdown: session did not end within %s", a.cfg.LeaveTimeout)
		}
		a.drain()
	}
	return nil
}

// drain handles the events the loop raised itself.
func (a *Agent) drain() {
	for len(a.queue) > 0 {
		ev := a.queue[0]
		a.queue = a.queue[1:]
		a.handle(ev)
	}
}

// handle runs one event through next and enter.
func (a *Agent) handle(ev event) {
	if t, ok := ev.(evTransport); ok {
		a.transport(t)
		return
	}
	old := a.m
	m, effects := next(old, ev, a.now())
	a.m = m
	a.enter(old, effects)
}

// transport handles the broker connection's ups and downs.
func (a *Agent) transport(t evTransport) {
	if !t.up {
		a.log.Warn("broker connection lost", "error", t.err)
		return
	}
	a.log.Info("broker connected, republishing state")
	a.publishState(true)
}

// loadDesired returns the desired state to start with: DesiredFile's,
// Autojoin's when there is none, idle when it is corrupt (warn says so).
func (a *Agent) loadDesired() (want Desired, warn string) {
	idle := Desired{GainDB: a.cfg.GainDB}
	autojoin := idle
	if a.cfg.Autojoin != nil {
		autojoin = *a.cfg.Autojoin
	}
	if a.cfg.StateDir == "" {
		a.log.Warn("no state directory: the desired state is not persisted")
		return autojoin, ""
	}
	if err := os.MkdirAll(a.cfg.StateDir, 0o700); err != nil {
		a.log.Error("state directory", "dir", a.cfg.StateDir, "error", err)
		return autojoin, "state directory: " + err.Error()
	}
	d, err := loadDesired(a.cfg.StateDir)
	switch {
	case errors.Is(err, errNoDesired):
		a.log.Info("no desired state yet", "autojoin", autojoin.Channel)
		return autojoin, ""
	case err != nil:
		a.log.Error("desired state unusable, starting idle", "error", err)
		if serr := saveDesired(a.cfg.StateDir, idle); serr != nil { // a restart stays idle too
			a.log.Error("desired state not saved", "error", serr)
		}
		return idle, err.Error()
	}
	a.log.Info("desired state loaded", "channel", d.Channel, "role", d.Role, "muted", d.Muted, "gain_db", d.GainDB)
	return d, ""
}
