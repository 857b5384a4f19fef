package device

import "time"

// command applies one command (next's part for evCommand). A refused
// command changes nothing and is answered at once; an accepted one is
// answered at once or, when its outcome takes a session (join, leave,
// set_role, renew_token after a refusal), becomes the pending command.
func (s *step) command(ev evCommand) {
	if e := ev.err; e != nil {
		s.reply(e.ID, e.ReplyTo, &ErrorBody{Code: e.Code, Message: e.Message})
		return
	}
	c := ev.cmd
	switch {
	case c.Expired(s.now):
		s.reply(c.ID, c.ReplyTo, &ErrorBody{Code: CodeExpired,
			Message: "expired at " + c.ExpiresAt.UTC().Format(time.RFC3339)})
		return
	case s.m.shutdown:
		s.reply(c.ID, c.ReplyTo, &ErrorBody{Code: CodeUnavailable, Message: "agent shutting down"})
		return
	}
	switch c.Action {
	case ActionJoin:
		s.join(c)
	case ActionLeave:
		s.leave(c)
	case ActionSetRole:
		s.setRole(c)
	case ActionMute, ActionUnmute:
		s.mute(c, c.Action == ActionMute)
	case ActionSetGain:
		s.setGain(c)
	case ActionRenewToken:
		s.renewToken(c)
	default: // ActionStatus
		s.reply(c.ID, c.ReplyTo, nil)
	}
}

func notJoined(c Command) *ErrorBody {
	return &ErrorBody{Code: CodeNotJoined, Message: c.Action.String() + ": not in a channel"}
}

// join: a token or uid not given is the current one on the same channel,
// the configured one on another. The same channel, token and uid with
// another role is a set_role; all the same is a no-op when joined.
func (s *step) join(c Command) {
	m := &s.m
	w := m.want
	same := w.Joined() && w.Channel == c.Channel
	t := Desired{Channel: c.Channel, Role: c.Role, Token: c.Token, UID: c.UID, Muted: w.Muted, GainDB: w.GainDB}
	if t.Token == "" {
		t.Token = pick(same, w.Token, m.cfg.token)
	}
	if t.UID == "" {
		t.UID = pick(same, w.UID, m.cfg.uid)
	}
	if same && t.Token == w.Token && t.UID == w.UID {
		switch {
		case t.Role != w.Role:
			s.setRole(c)
		case m.rep.State == StateJoined:
			s.reply(c.ID, c.ReplyTo, nil) // a repeat: nothing to do
		case m.sess.gen != 0:
			s.hold(c) // its session is on the way: this join waits for it
		default:
			s.hold(c) // refused or backing off: try again now
			s.startSession(true)
		}
		return
	}
	m.want = t
	m.failures = 0
	s.hold(c)
	if m.sess.gen == 0 {
		s.startSession(true)
		return
	}
	s.stopSession() // the new session starts when this one has ended
	m.retrySeq, m.waitToken = 0, false
	m.rep.Error = nil
	s.setState(StateJoining)
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

// leave: answered once the session has ended (DELETE sent); a leave
// while one is in progress takes its place.
func (s *step) leave(c Command) {
	m := &s.m
	if !m.want.Joined() {
		if m.sess.gen != 0 {
			s.hold(c)
		} else {
			s.reply(c.ID, c.ReplyTo, nil)
		}
		return
	}
	m.want = Desired{Muted: m.want.Muted, GainDB: m.want.GainDB}
	m.retrySeq, m.waitToken, m.failures = 0, false, 0
	m.rep.Error = nil
	if m.sess.gen == 0 {
		s.supersede("superseded by " + c.ID)
		s.setState(StateIdle)
		s.reply(c.ID, c.ReplyTo, nil)
		return
	}
	s.hold(c)
	s.stopSession()
	s.setState(StateLeaving)
}

// setRole switches the live session with SetRole (answered when the new
// role is connected); without a live session the next one starts in the
// new role.
func (s *step) setRole(c Command) {
	m := &s.m
	if !m.want.Joined() {
		s.reply(c.ID, c.ReplyTo, notJoined(c))
		return
	}
	if c.Role == m.want.Role {
		s.reply(c.ID, c.ReplyTo, nil)
		return
	}
	m.want.Role = c.Role
	s.hold(c)
	switch {
	case s.live():
		m.sess.role = c.Role
		m.sess.switching, m.sess.switchSeq = true, m.seq
		s.do(effSetRole{gen: m.sess.gen, seq: m.seq, role: c.Role})
		s.setState(StateJoining)
	case m.sess.gen == 0:
		s.startSession(true)
	}
}

// mute applies at once; while idle it is kept for the next join.
func (s *step) mute(c Command, muted bool) {
	m := &s.m
	if m.want.Muted != muted {
		m.want.Muted = muted
		if s.live() {
			s.do(effMute{gen: m.sess.gen, muted: muted})
		}
	}
	s.reply(c.ID, c.ReplyTo, nil)
}

// setGain applies at once; while idle it is kept for the next join.
func (s *step) setGain(c Command) {
	m := &s.m
	if m.want.GainDB != c.GainDB {
		m.want.GainDB = c.GainDB
		if s.live() {
			s.do(effGain{gen: m.sess.gen, db: c.GainDB})
		}
	}
	s.reply(c.ID, c.ReplyTo, nil)
}

// renewToken: after a refusal the session starts again with the new token
// (answered when connected); a running session keeps its token until it
// next starts (a refusal of the old token restarts it at once).
func (s *step) renewToken(c Command) {
	m := &s.m
	if !m.want.Joined() {
		s.reply(c.ID, c.ReplyTo, notJoined(c))
		return
	}
	if c.Token == m.want.Token && !m.waitToken {
		s.reply(c.ID, c.ReplyTo, nil)
		return
	}
	m.want.Token = c.Token
	if m.sess.gen != 0 {
		s.reply(c.ID, c.ReplyTo, nil)
		return
	}
	m.failures = 0
	s.hold(c)
	s.startSession(true)
}
