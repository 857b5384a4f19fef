package device

import (
	"context"
	"fmt"
	"sync"

	"github.com/onair-dev/onair/session"
	"github.com/onair-dev/onair/uplink"
)

// liveSession is the session the agent runs: its Run goroutine and, once
// a role switch was asked for, its switch goroutine.
type liveSession struct {
	gen    uint64
	s      Session
	cancel context.CancelFunc // stops Run (and the switch goroutine)

	mu   sync.Mutex
	role Role   // the latest role asked for
	seq  uint64 // its sequence number
	wake chan struct{}
}

// startSession creates session gen for w and runs it in a goroutine; its
// callbacks and its end only send events to the loop. A session that
// cannot be created ends at once (evEnded with the error).
func (a *Agent) startSession(gen uint64, w Desired) {
	cfg := a.cfg.Session
	cfg.Channel, cfg.UID, cfg.Token, cfg.Role = w.Channel, w.UID, w.Token, w.Role
	if cfg.Token == "" && a.cfg.TokenFor != nil {
		cfg.Token = a.cfg.TokenFor(w.Channel, w.UID)
	}
	cfg.Audio.GainDB = w.GainDB
	cfg.Log, cfg.Heartbeat = a.base, a.cfg.Heartbeat.audioHalf()
	cfg.OnState = func(r Role, st uplink.State, err error) {
		a.send(evUplink{gen: gen, role: r, state: st, err: err})
	}
	cfg.OnEvent = func(e session.Event) { a.send(evSession{gen: gen, e: e}) }
	s, err := a.newSession(cfg)
	if err != nil {
		a.queue = append(a.queue, evEnded{gen: gen, err: fmt.Errorf("device: new session: %w", err)})
		return
	}
	s.SetGain(w.GainDB)
	s.SetMuted(w.Muted)
	ctx, cancel := context.WithCancel(context.Background())
	ls := &liveSession{gen: gen, s: s, cancel: cancel, wake: make(chan struct{}, 1)}
	a.cur = ls
	a.log.Info("starting session", "gen", gen, "channel", w.Channel, "role", w.Role, "uid", w.UID)
	a.wg.Add(2)
	go a.switchLoop(ctx, ls)
	go func() {
		defer a.wg.Done()
		defer cancel()
		err := s.Run(ctx)
		a.send(evEnded{gen: gen, err: err})
	}()
}

// switchTo asks the session's switch goroutine for role. SetRole calls are
// made one at a time, in order, and only for the latest role asked for:
// concurrent SetRole calls could leave the session in an older role.
func (ls *liveSession) switchTo(role Role, seq uint64) {
	ls.mu.Lock()
	ls.role, ls.seq = role, seq
	ls.mu.Unlock()
	select {
	case ls.wake <- struct{}{}:
	default: // already woken
	}
}

// switchLoop makes ls's SetRole calls until ctx (the session's) ends; each
// is bounded by JoinTimeout and reported with evSwitched.
func (a *Agent) switchLoop(ctx context.Context, ls *liveSession) {
	defer a.wg.Done()
	var done uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-ls.wake:
		}
		ls.mu.Lock()
		role, seq := ls.role, ls.seq
		ls.mu.Unlock()
		if seq == done {
			continue
		}
		done = seq
		sctx, cancel := context.WithTimeout(ctx, a.cfg.JoinTimeout)
		sw, err := ls.s.SetRole(sctx, role)
		cancel()
		if err != nil {
			a.log.Warn("role switch failed", "to", role, "error", err)
		}
		a.send(evSwitched{gen: ls.gen, seq: seq, sw: sw, err: err})
	}
}
