package device

import (
	"errors"
	"slices"
	"time"

	"github.com/onair-dev/onair/session"
	"github.com/onair-dev/onair/uplink"
)

// machineConfig is what the state machine takes from AgentConfig.
type machineConfig struct {
	device, version string
	token, uid      string  // of a join without them, on a new channel
	gainDB          float64 // initial desired gain
	joinTimeout     time.Duration
}

// machine is everything next decides on; a value, copied and never
// shared, so next is a pure function of it and an event.
type machine struct {
	cfg  machineConfig
	rep  Reported // what is published on the state topic
	want Desired  // what the fleet asked for
	sess sessInfo // the session that exists; gen 0 when none

	pending *pending // the command waiting for its outcome (at most one)
	hosts   []hostRef

	seq  uint64 // last sequence number given to a pending command or a restart
	gens uint64 // last session generation given

	failures  int    // consecutive session failures, for the restart backoff
	retrySeq  uint64 // the restart scheduled, 0 when none
	waitToken bool   // refused (401/403): no restart before a new token
	warned    string // the token token-will-expire was sent for

	shutdown, done bool // leaving at shutdown; left
}

// sessInfo describes the session that exists.
type sessInfo struct {
	gen                 uint64
	role                Role // the role it plays or switches to
	channel, uid, token string
	stopping            bool   // cancelled; its end is awaited
	switching           bool   // a SetRole to role is in flight
	switchSeq           uint64 // the latest SetRole asked for
}

// pending is a command whose reply waits for its outcome.
type pending struct {
	seq     uint64
	id      string
	replyTo string
	action  Action
}

// hostRef counts the streams of one remote host (a slot can briefly carry
// an old and a new stream).
type hostRef struct {
	uid string
	n   int
}

func newMachine(cfg machineConfig) machine {
	return machine{
		cfg:  cfg,
		want: Desired{GainDB: cfg.gainDB},
		rep:  Reported{Device: cfg.device, Version: cfg.version, Hosts: []string{}},
	}
}

// finished reports whether the agent has left at shutdown.
func (m machine) finished() bool { return m.done }

// step accumulates next's result.
type step struct {
	m   machine
	eff []effect
	now time.Time
}

func (s *step) do(e ...effect) { s.eff = append(s.eff, e...) }

// next is the agent's state machine: the machine after ev at now and the
// effects to carry out, from its inputs alone (STYLE.md 3). enter does
// the effects.
func next(m machine, ev event, now time.Time) (machine, []effect) {
	s := &step{m: m, now: now}
	s.m.hosts = slices.Clone(m.hosts)
	if m.pending != nil {
		p := *m.pending
		s.m.pending = &p
	}
	switch ev := ev.(type) {
	case evStart:
		s.start(ev)
	case evCommand:
		s.command(ev)
	case evUplink:
		s.uplink(ev)
	case evSession:
		s.sessionEvent(ev)
	case evEnded:
		s.ended(ev)
	case evSwitched:
		s.switched(ev)
	case evTimeout:
		s.timeout(ev)
	case evRetry:
		if ev.seq == s.m.retrySeq && s.m.sess.gen == 0 && s.m.want.Joined() && !s.m.shutdown {
			s.m.retrySeq = 0
			s.startSession(false)
		}
	case evTokenExpiring:
		if ev.token == s.m.want.Token && ev.token != s.m.warned && s.m.want.Joined() {
			s.m.warned = ev.token
			s.do(effEvent{eventMsg{Event: "token-will-expire", ExpiresAt: ev.exp.UTC().Format(time.RFC3339)}})
		}
	case evShutdown:
		s.shutdown()
	}
	if s.m.want != m.want {
		if !s.m.shutdown {
			if _, isStart := ev.(evStart); !isStart {
				s.do(effPersist{s.m.want})
			}
		}
		if s.m.want.Token != m.want.Token {
			s.do(effWatchToken{s.m.want.Token})
		}
	}
	s.report()
	return s.m, s.eff
}

// start applies the desired state loaded at start.
func (s *step) start(ev evStart) {
	s.m.want = ev.want
	if w := &s.m.want; w.Joined() {
		w.Token = pick(w.Token != "", w.Token, s.m.cfg.token)
		w.UID = pick(w.UID != "", w.UID, s.m.cfg.uid)
	}
	if ev.warn != "" {
		s.do(effEvent{eventMsg{Event: "error", Code: CodeInternal, Message: ev.warn}})
	}
	if s.m.want.Joined() {
		s.startSession(true)
	} else {
		s.setState(StateIdle)
	}
}

// startSession starts a session for the desired state; fresh (asked for
// by a command or at start) enters joining, a restart stays retrying with
// its error until connected.
func (s *step) startSession(fresh bool) {
	m := &s.m
	m.gens++
	w := m.want
	m.sess = sessInfo{gen: m.gens, role: w.Role, channel: w.Channel, uid: w.UID, token: w.Token}
	m.waitToken, m.retrySeq = false, 0
	s.do(effStart{gen: m.gens, want: w})
	if fresh || m.rep.State != StateRetrying {
		s.setState(StateJoining)
		m.rep.Error = nil
	}
}

// stopSession cancels the live session; its end is awaited (evEnded).
func (s *step) stopSession() {
	if s.m.sess.gen != 0 && !s.m.sess.stopping {
		s.m.sess.stopping = true
		s.do(effStop{s.m.sess.gen})
	}
}

// live reports whether a session runs and is not being stopped.
func (s *step) live() bool { return s.m.sess.gen != 0 && !s.m.sess.stopping }

func (s *step) setState(st State) {
	if s.m.rep.State != st {
		s.m.rep.State = st
		s.m.rep.Since = s.now
	}
}

// reply answers a command.
func (s *step) reply(id, topic string, err *ErrorBody) {
	s.do(effReply{id: id, topic: topic, err: err})
}

// hold makes c the pending command, answering the one it supersedes, and
// arms its timeout.
func (s *step) hold(c Command) {
	s.supersede("superseded by " + c.ID)
	s.m.seq++
	s.m.pending = &pending{seq: s.m.seq, id: c.ID, replyTo: c.ReplyTo, action: c.Action}
	s.do(effTimeout{s.m.seq})
}

// supersede answers the pending command, if any, unavailable with msg.
func (s *step) supersede(msg string) {
	if p := s.m.pending; p != nil {
		s.reply(p.id, p.replyTo, &ErrorBody{Code: CodeUnavailable, Message: msg})
		s.m.pending = nil
	}
}

// settle answers the pending command with err (nil: ok).
func (s *step) settle(err *ErrorBody) {
	if p := s.m.pending; p != nil {
		s.reply(p.id, p.replyTo, err)
		s.m.pending = nil
	}
}

// uplink follows the WHIP/WHEP session's state.
func (s *step) uplink(ev evUplink) {
	m := &s.m
	if ev.gen != m.sess.gen || m.sess.gen == 0 {
		return
	}
	msg := eventMsg{Event: "connection-state", State: ev.state.String(), Role: ev.role.String()}
	if ev.err != nil {
		msg.Message = ev.err.Error()
	}
	s.do(effEvent{msg})
	if m.sess.stopping || ev.role != m.sess.role {
		return
	}
	switch ev.state {
	case uplink.StateConnected:
		s.connected()
	case uplink.StateRetrying:
		s.setState(StateRetrying)
		m.rep.Error = &ErrorBody{Code: CodeUnavailable, Message: errText(ev.err, "session lost")}
	}
}

// connected: the session is connected in the desired role.
func (s *step) connected() {
	m := &s.m
	m.failures = 0
	m.rep.Error = nil
	if m.sess.switching {
		return // joined once SetRole returns (switched)
	}
	s.setState(StateJoined)
	s.settle(nil)
}

// switched: a SetRole returned.
func (s *step) switched(ev evSwitched) {
	m := &s.m
	if ev.gen != m.sess.gen || ev.seq != m.sess.switchSeq {
		return // an older switch, or another session's
	}
	m.sess.switching = false
	if m.sess.stopping {
		return
	}
	if errors.Is(ev.err, uplink.ErrUnauthorized) {
		return // the session ends with it: evEnded follows
	}
	if ev.err != nil {
		// The session's role is unknown now (the switch may have failed
		// half-way, or Run had not started yet): start it again in the
		// desired role. A pending command waits for that session.
		s.stopSession()
		s.setState(StateJoining)
		return
	}
	m.rep.Error = nil
	s.setState(StateJoined)
	s.settle(nil)
}

// timeout: the pending command waited JoinTimeout; the session keeps
// trying.
func (s *step) timeout(ev evTimeout) {
	p := s.m.pending
	if p == nil || p.seq != ev.seq {
		return
	}
	msg := "not connected after " + s.m.cfg.joinTimeout.String() + "; still trying"
	if p.action == ActionLeave {
		msg = "not left after " + s.m.cfg.joinTimeout.String() + "; still leaving"
	}
	s.settle(&ErrorBody{Code: CodeUnavailable, Message: msg})
}

// ended: the session's Run returned, asked to or not.
func (s *step) ended(ev evEnded) {
	m := &s.m
	if ev.gen != m.sess.gen || m.sess.gen == 0 {
		return
	}
	old := m.sess
	m.sess = sessInfo{}
	s.dropHosts()
	switch {
	case m.shutdown:
		s.setState(StateIdle)
		m.rep.Error = nil
		m.done = true
	case old.stopping && !m.want.Joined():
		s.setState(StateIdle)
		m.rep.Error = nil
		s.settle(nil) // the leave
	case old.stopping:
		s.startSession(true) // the join that replaced it
	case errors.Is(ev.err, uplink.ErrUnauthorized) && m.want.Token != old.token:
		s.startSession(true) // refused, but a newer token is at hand
	case errors.Is(ev.err, uplink.ErrUnauthorized):
		m.waitToken = true
		s.setState(StateRetrying)
		m.rep.Error = &ErrorBody{Code: CodeUnauthorized, Message: "token refused: " + ev.err.Error()}
		s.do(effEvent{eventMsg{Event: "error", Code: CodeUnauthorized, Message: m.rep.Error.Message}})
		s.settle(m.rep.Error)
	default:
		m.failures++
		m.seq++
		m.retrySeq = m.seq
		s.setState(StateRetrying)
		m.rep.Error = &ErrorBody{Code: CodeUnavailable, Message: "session ended: " + errText(ev.err, "no error")}
		s.do(effEvent{eventMsg{Event: "error", Code: CodeUnavailable, Message: m.rep.Error.Message}},
			effRetry{seq: m.retrySeq, failures: m.failures})
		s.settle(m.rep.Error)
	}
}

// sessionEvent passes a session's event on; stream events keep the hosts.
func (s *step) sessionEvent(ev evSession) {
	if ev.gen != s.m.sess.gen || s.m.sess.gen == 0 {
		return
	}
	msg := eventMsg{Event: ev.e.Name, UID: ev.e.UID}
	if ev.e.Err != nil {
		msg.Message = ev.e.Err.Error()
	}
	switch ev.e.Name {
	case session.EventStreamAdded:
		s.addHost(ev.e.UID)
	case session.EventStreamRemoved:
		if !s.removeHost(ev.e.UID) {
			return // not known: already reported removed
		}
	}
	s.do(effEvent{msg})
}

func (s *step) addHost(uid string) {
	for i := range s.m.hosts {
		if s.m.hosts[i].uid == uid {
			s.m.hosts[i].n++
			return
		}
	}
	s.m.hosts = append(s.m.hosts, hostRef{uid: uid, n: 1})
}

func (s *step) removeHost(uid string) bool {
	for i := range s.m.hosts {
		if s.m.hosts[i].uid == uid {
			if s.m.hosts[i].n--; s.m.hosts[i].n == 0 {
				s.m.hosts = slices.Delete(s.m.hosts, i, i+1)
			}
			return true
		}
	}
	return false
}

// dropHosts reports every host still listed removed: their session ended.
func (s *step) dropHosts() {
	for _, h := range s.m.hosts {
		s.do(effEvent{eventMsg{Event: session.EventStreamRemoved, UID: h.uid}})
	}
	s.m.hosts = nil
}

// shutdown leaves the channel without changing the desired state.
func (s *step) shutdown() {
	m := &s.m
	if m.shutdown {
		return
	}
	m.shutdown = true
	m.retrySeq = 0
	s.supersede("agent shutting down")
	if m.sess.gen == 0 {
		s.setState(StateIdle)
		m.rep.Error = nil
		m.done = true
		return
	}
	s.stopSession()
	s.setState(StateLeaving)
}

// report derives the reported state's fields from the machine.
func (s *step) report() {
	m := &s.m
	r := &m.rep
	switch {
	case r.State == StateIdle:
		r.Channel, r.Role, r.UID = "", RoleUnknown, ""
	case r.State == StateLeaving:
		// the channel being left, as it was reported
	default:
		r.Channel, r.Role, r.UID = m.want.Channel, m.want.Role, m.want.UID
	}
	r.Muted = m.want.Muted
	r.Publishing = r.State == StateJoined && r.Role == RoleHost
	r.Hosts = make([]string, 0, len(m.hosts))
	for _, h := range m.hosts {
		r.Hosts = append(r.Hosts, h.uid)
	}
	slices.Sort(r.Hosts)
}

// errText is err's text, or def for a nil err.
func errText(err error, def string) string {
	if err == nil {
		return def
	}
	return err.Error()
}
