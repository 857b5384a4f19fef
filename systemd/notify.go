package systemd

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier tells systemd the service's state over the sd_notify(3)
// protocol: READY=1, STATUS=, RELOADING=1, STOPPING=1 and WATCHDOG=1. Where
// NOTIFY_SOCKET is unset (onair not started by systemd, or by a unit
// without Type=notify) every method does nothing and returns nil.
type Notifier struct {
	log     *slog.Logger
	timeout time.Duration // WatchdogSec= as WATCHDOG_USEC tells; 0: off
}

// NewNotifier returns a Notifier for this process, reading NOTIFY_SOCKET,
// WATCHDOG_USEC and WATCHDOG_PID from the environment. It fails only on a
// malformed WATCHDOG_USEC or WATCHDOG_PID.
func NewNotifier(log *slog.Logger) (*Notifier, error) {
	timeout, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return nil, fmt.Errorf("systemd: watchdog: %w", err)
	}
	return &Notifier{log: log.With("component", "systemd"), timeout: timeout}, nil
}

// Ready tells systemd that onair has started (its configuration is loaded
// and its components run) or has finished reloading.
func (n *Notifier) Ready() error { return n.notify(daemon.SdNotifyReady) }

// Status sets the one-line status `systemctl status onair` shows, such as
// "on air: lobby as host" or "retrying: …". Newlines become spaces.
func (n *Notifier) Status(status string) error {
	return n.notify("STATUS=" + strings.Join(strings.Fields(status), " "))
}

// Reloading tells systemd that onair reloads its configuration (SIGHUP);
// Ready must follow when the reload is done.
func (n *Notifier) Reloading() error {
	// MONOTONIC_USEC is what Type=notify-reload (systemd ≥ 253) expects
	// with RELOADING=1; earlier versions ignore it.
	return n.notify(daemon.SdNotifyReloading + "\n" + daemon.SdNotifyMonotonicUsec())
}

// Stopping tells systemd that onair is shutting down.
func (n *Notifier) Stopping() error { return n.notify(daemon.SdNotifyStopping) }

// notify sends one message; a missing NOTIFY_SOCKET is not an error.
func (n *Notifier) notify(state string) error {
	if _, err := daemon.SdNotify(false, state); err != nil {
		name, _, _ := strings.Cut(state, "=")
		return fmt.Errorf("systemd: notify %s: %w", name, err)
	}
	return nil
}
