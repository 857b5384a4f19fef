package device

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/onair-dev/onair/token"
)

// tokenWarning is how long before its exp a token-will-expire is sent.
const tokenWarning = 5 * time.Minute

// enter carries out next's effects (STYLE.md 3): the log line of a state
// change, the desired state's file, the session, then the retained state,
// then replies and events (a reply's sender finds the state already
// published), then the timers.
func (a *Agent) enter(old machine, effects []effect) {
	if from, to := old.rep.State, a.m.rep.State; from != to {
		args := []any{"channel", a.m.rep.Channel}
		if a.m.rep.Role != RoleUnknown {
			args = append(args, "role", a.m.rep.Role)
		}
		if e := a.m.rep.Error; e != nil {
			args = append(args, "code", e.Code, "error", e.Message)
		}
		a.log.Info(fmt.Sprintf("state %s -> %s", from, to), args...)
	}
	var unsaved *ErrorBody // the change of this step was not saved
	for _, e := range effects {
		switch e := e.(type) {
		case effPersist:
			unsaved = a.persist(e.want)
		case effStart:
			a.startSession(e.gen, e.want)
		case effStop:
			if c := a.cur; c != nil && c.gen == e.gen {
				c.cancel()
			}
		case effSetRole:
			if c := a.cur; c != nil && c.gen == e.gen {
				c.switchTo(e.role, e.seq)
			}
		case effMute:
			if c := a.cur; c != nil && c.gen == e.gen {
				c.s.SetMuted(e.muted)
			}
		case effGain:
			if c := a.cur; c != nil && c.gen == e.gen {
				c.s.SetGain(e.db)
			}
		}
	}
	if a.cur != nil && a.cur.gen != a.m.sess.gen {
		a.cur = nil // ended
	}
	a.publishState(false)
	settled := a.unsaved.track(old.pending, a.m.pending, unsaved)
	for _, e := range effects {
		switch e := e.(type) {
		case effReply:
			if e.err == nil {
				e.err = cmp.Or(unsaved, settled.of(e.id))
			}
			state := a.m.rep
			a.publishReply(e, &state)
		case effEvent:
			a.publishEvent(e.e)
		case effTimeout:
			a.timers.timeout.arm(a.cfg.JoinTimeout, evTimeout{e.seq})
		case effRetry:
			d := a.retry.Delay(e.failures)
			a.log.Info("restarting the session", "in", d.Round(time.Millisecond), "failures", e.failures)
			a.timers.retry.arm(d, evRetry{e.seq})
		case effWatchToken:
			a.watchToken(e.token)
		}
	}
}

// persist writes the desired state. A failure is logged and reported as
// an error event; the change stays applied, and the returned error is the
// reply of the command that made it: it will not survive a restart.
func (a *Agent) persist(w Desired) *ErrorBody {
	if a.cfg.StateDir == "" {
		return nil
	}
	err := saveDesired(a.cfg.StateDir, w)
	if err == nil {
		return nil
	}
	a.log.Error("desired state not saved", "error", err)
	a.publishEvent(eventMsg{Event: "error", Code: CodeInternal, Message: err.Error()})
	return &ErrorBody{Code: CodeInternal, Message: "state not saved: " + err.Error() + "; applied, but lost at the next restart"}
}

// watchToken arms token-will-expire for tok when it is a JWT with an exp.
func (a *Agent) watchToken(tok string) {
	exp, err := token.Expiry(tok)
	if err != nil {
		a.timers.token.stop()
		return
	}
	d := max(exp.Add(-tokenWarning).Sub(a.now()), 0)
	a.timers.token.arm(d, evTokenExpiring{token: tok, exp: exp})
}

// publishState publishes the reported state when it changed since the
// last time, or always when force.
func (a *Agent) publishState(force bool) {
	b, err := json.Marshal(a.m.rep)
	if err != nil {
		a.log.Error("encode state", "error", err)
		return
	}
	if !force && string(b) == string(a.lastState) {
		return
	}
	if err := a.cfg.Publisher.PublishState(b); err != nil {
		a.log.Warn("publish state", "error", err)
	}
	a.lastState = b
	if a.cfg.OnState != nil {
		rep := a.m.rep
		rep.Hosts = slices.Clone(rep.Hosts)
		if rep.Error != nil {
			e := *rep.Error
			rep.Error = &e
		}
		a.cfg.OnState(rep)
	}
}

// replyMsg is a reply: {"id":…,"ok":true,"state":{…}} or
// {"id":…,"ok":false,"error":{"code":…,"message":…}}.
type replyMsg struct {
	ID    *string    `json:"id"`
	OK    bool       `json:"ok"`
	State *Reported  `json:"state,omitempty"`
	Error *ErrorBody `json:"error,omitempty"`
}

// publishReply publishes r; an ok reply carries state.
func (a *Agent) publishReply(r effReply, state *Reported) {
	msg := replyMsg{OK: r.err == nil, Error: r.err}
	if r.id != "" {
		msg.ID = &r.id
	}
	if msg.OK {
		msg.State = state
	}
	b, err := json.Marshal(msg)
	if err != nil {
		a.log.Error("encode reply", "error", err)
		return
	}
	topic := r.topic
	if topic == "" {
		topic = a.cfg.Publisher.DefaultReplyTopic()
	}
	if r.err != nil {
		a.log.Info("command refused", "id", r.id, "code", r.err.Code, "error", r.err.Message)
	}
	if err := a.cfg.Publisher.PublishReply(topic, b); err != nil {
		a.log.Warn("publish reply", "id", r.id, "topic", topic, "error", err)
	}
}

// publishEvent publishes e, stamped now.
func (a *Agent) publishEvent(e eventMsg) {
	e.TS = a.now().UTC().Format(time.RFC3339Nano)
	b, err := json.Marshal(e)
	if err != nil {
		a.log.Error("encode event", "error", err)
		return
	}
	if err := a.cfg.Publisher.PublishEvent(b); err != nil {
		a.log.Warn("publish event", "event", e.Event, "error", err)
	}
}

// loopTimer is a single-shot timer of the loop that delivers ev; arming
// it again replaces the previous deadline.
type loopTimer struct {
	t  *time.Timer
	ev event
}

func (lt *loopTimer) arm(d time.Duration, ev event) {
	lt.ev = ev
	if lt.t == nil {
		lt.t = time.NewTimer(d)
		return
	}
	lt.t.Reset(d) // since Go 1.23 no stale value survives Reset
}

func (lt *loopTimer) stop() {
	if lt.t != nil {
		lt.t.Stop()
	}
}

// C is the timer's channel, nil (never ready) when never armed.
func (lt *loopTimer) C() <-chan time.Time {
	if lt.t == nil {
		return nil
	}
	return lt.t.C
}

// agentTimers are the loop's timers.
type agentTimers struct {
	timeout, retry, token loopTimer
}

func (t *agentTimers) stop() {
	t.timeout.stop()
	t.retry.stop()
	t.token.stop()
}
