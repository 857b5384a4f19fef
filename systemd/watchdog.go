package systemd

import (
	"context"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// WatchdogTimeout is the unit's WatchdogSec=: systemd kills and restarts
// the service when no WATCHDOG=1 arrives for that long. It is 0 when the
// watchdog is off (no WATCHDOG_USEC, or it is meant for another process).
func (n *Notifier) WatchdogTimeout() time.Duration { return n.timeout }

// Watchdog sends WATCHDOG=1 every half WatchdogTimeout, but only while
// alive reports true: alive is onair's own health check (the audio loop
// made progress recently and the agent loop answers), so a stalled capture
// or a deadlock stops the pings and systemd restarts the service. It
// blocks until ctx ends and returns ctx.Err(); with the watchdog off it
// only waits for ctx. A failed send is logged, not returned: systemd
// restarts the service if the pings stay away.
func (n *Notifier) Watchdog(ctx context.Context, alive func() bool) error {
	if n.timeout <= 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	tick := time.NewTicker(n.timeout / 2)
	defer tick.Stop()
	healthy, sendFailed := true, false
	for {
		ok := alive()
		switch {
		case ok:
			if !healthy {
				n.log.Info("watchdog: alive again, pinging systemd")
			}
			err := n.notify(daemon.SdNotifyWatchdog)
			if err != nil && !sendFailed {
				n.log.Warn("watchdog: ping failed", "err", err)
			}
			sendFailed = err != nil
		case healthy:
			n.log.Warn("watchdog: not alive, withholding pings; systemd restarts onair unless it recovers",
				"timeout", n.timeout)
		}
		healthy = ok
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
