package device

import (
	"time"

	"github.com/onair-dev/onair/session"
	"github.com/onair-dev/onair/uplink"
)

// event is an input of the state machine.
type event interface{ isEvent() }

type (
	// evStart applies the desired state loaded at start.
	evStart struct {
		want Desired
		warn string // why the stored state was not used, if so
	}
	// evCommand is a command, parsed or refused.
	evCommand struct {
		topic string // where it arrived, for the log
		cmd   Command
		err   *CommandError // non-nil: refused by ParseCommand
	}
	// evUplink is a state change of the session's WHIP/WHEP session.
	evUplink struct {
		gen   uint64
		role  Role
		state uplink.State
		err   error
	}
	// evSession is a session event: mic-lost, stream-added, ….
	evSession struct {
		gen uint64
		e   session.Event
	}
	// evEnded: the session's Run returned.
	evEnded struct {
		gen uint64
		err error
	}
	// evSwitched: a SetRole returned.
	evSwitched struct {
		gen, seq uint64
		sw       session.Switch
		err      error
	}
	// evTimeout: the pending command seq waited JoinTimeout.
	evTimeout struct{ seq uint64 }
	// evRetry: the backoff of restart seq is over.
	evRetry struct{ seq uint64 }
	// evTokenExpiring: token expires at exp, within tokenWarning.
	evTokenExpiring struct {
		token string
		exp   time.Time
	}
	// evShutdown: Run's context ended.
	evShutdown struct{}
	// evTransport: the broker connection went up or down; handled by
	// the loop itself, not by next.
	evTransport struct {
		up  bool
		err error
	}
)

func (evStart) isEvent()         {}
func (evCommand) isEvent()       {}
func (evUplink) isEvent()        {}
func (evSession) isEvent()       {}
func (evEnded) isEvent()         {}
func (evSwitched) isEvent()      {}
func (evTimeout) isEvent()       {}
func (evRetry) isEvent()         {}
func (evTokenExpiring) isEvent() {}
func (evShutdown) isEvent()      {}
func (evTransport) isEvent()     {}

// effect is a side effect next asks enter for.
type effect interface{ isEffect() }

type (
	// effReply publishes a reply; ok replies carry the state after the
	// step. id "" is sent as null, topic "" is the default reply topic.
	effReply struct {
		id, topic string
		err       *ErrorBody // nil: ok
	}
	// effStart creates and runs session gen for want.
	effStart struct {
		gen  uint64
		want Desired
	}
	// effStop cancels session gen's Run (its DELETE follows).
	effStop struct{ gen uint64 }
	// effSetRole switches session gen to role; seq tags the result.
	effSetRole struct {
		gen, seq uint64
		role     Role
	}
	// effMute and effGain apply to session gen.
	effMute struct {
		gen   uint64
		muted bool
	}
	effGain struct {
		gen uint64
		db  float64
	}
	// effPersist writes the desired state.
	effPersist struct{ want Desired }
	// effEvent publishes an event.
	effEvent struct{ e eventMsg }
	// effTimeout arms the pending command's timeout.
	effTimeout struct{ seq uint64 }
	// effRetry arms the restart after the failures-th failure.
	effRetry struct {
		seq      uint64
		failures int
	}
	// effWatchToken arms token-will-expire for token ("" disarms).
	effWatchToken struct{ token string }
)

func (effReply) isEffect()      {}
func (effStart) isEffect()      {}
func (effStop) isEffect()       {}
func (effSetRole) isEffect()    {}
func (effMute) isEffect()       {}
func (effGain) isEffect()       {}
func (effPersist) isEffect()    {}
func (effEvent) isEffect()      {}
func (effTimeout) isEffect()    {}
func (effRetry) isEffect()      {}
func (effWatchToken) isEffect() {}
