package device

import (
	"sync/atomic"
	"time"
)

// Heartbeat tells whether the board is alive for systemd's watchdog: the
// agent's loop beats every second, and a running role's audio loop at
// every frame (captured and sent as host, written to the output as
// audience). Its zero value is ready to use.
type Heartbeat struct {
	loop    atomic.Int64 // unix nanoseconds of the agent loop's last beat
	audio   atomic.Int64 // of the audio loop's last frame
	playing atomic.Bool  // a role with an audio loop is running
}

func (h *Heartbeat) beatLoop() {
	if h != nil {
		h.loop.Store(time.Now().UnixNano())
	}
}

func (h *Heartbeat) beatAudio() {
	if h != nil {
		h.audio.Store(time.Now().UnixNano())
	}
}

func (h *Heartbeat) setPlaying(on bool) {
	if h != nil {
		h.playing.Store(on)
		h.beatAudio()
	}
}

// Alive reports whether the agent loop beat within maxAge and, while a
// role runs, its audio loop too. A stalled capture or a deadlocked agent
// makes it false.
func (h *Heartbeat) Alive(maxAge time.Duration) bool {
	now := time.Now().UnixNano()
	if now-h.loop.Load() > int64(maxAge) {
		return false
	}
	return !h.playing.Load() || now-h.audio.Load() <= int64(maxAge)
}
