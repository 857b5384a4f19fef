package device

import (
	"sync/atomic"
	"time"

	"github.com/onair-dev/onair/session"
)

// Heartbeat tells whether the board is alive for systemd's watchdog: the
// agent's loop beats every second, and a running role's audio loop at
// every frame (session.Heartbeat, its audio half). Its zero value is ready
// to use.
type Heartbeat struct {
	loop  atomic.Int64 // unix nanoseconds of the agent loop's last beat
	audio session.Heartbeat
}

func (h *Heartbeat) beatLoop() {
	if h != nil {
		h.loop.Store(time.Now().UnixNano())
	}
}

// audioHalf is the heartbeat the sessions beat; nil for a nil h.
func (h *Heartbeat) audioHalf() *session.Heartbeat {
	if h == nil {
		return nil
	}
	return &h.audio
}

// Alive reports whether the agent loop beat within maxAge and, while a
// role runs, its audio loop too. A stalled capture or a deadlocked agent
// makes it false.
func (h *Heartbeat) Alive(maxAge time.Duration) bool {
	if time.Now().UnixNano()-h.loop.Load() > int64(maxAge) {
		return false
	}
	return h.audio.Alive(maxAge)
}
