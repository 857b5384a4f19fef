package session

import (
	"sync/atomic"
	"time"
)

// Heartbeat is the audio half of the board's watchdog heartbeat: a running
// role's audio loop beats it at every frame (captured and sent as host,
// written to the output as audience), and a host without any input while
// it probes for one (see capture.run). Its zero value is ready to use; its
// methods do nothing on a nil Heartbeat.
type Heartbeat struct {
	audio   atomic.Int64 // unix nanoseconds of the audio loop's last beat
	playing atomic.Bool  // a role with an audio loop is running
}

func (h *Heartbeat) beat() {
	if h != nil {
		h.audio.Store(time.Now().UnixNano())
	}
}

func (h *Heartbeat) setPlaying(on bool) {
	if h != nil {
		h.playing.Store(on)
		h.beat()
	}
}

// Playing reports whether a role with an audio loop is running.
func (h *Heartbeat) Playing() bool { return h != nil && h.playing.Load() }

// Alive reports whether, while a role runs, its audio loop beat within
// maxAge; with no role running it is true. A stalled capture makes it
// false.
func (h *Heartbeat) Alive(maxAge time.Duration) bool {
	if h == nil || !h.playing.Load() {
		return true
	}
	return time.Now().UnixNano()-h.audio.Load() <= int64(maxAge)
}
