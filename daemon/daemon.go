// Package daemon is `onair run`: it supervises the components of a board
// (the embedded MQTT broker, the embedded relay, the MQTT client, the
// device agent and systemd's watchdog) in one errgroup, reloads the
// configuration on request, and stops every component in order on every
// path out.
package daemon

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/onair-dev/onair/config"
)

// Notifier is what the daemon tells systemd; *systemd.Notifier implements
// it. Its errors are not fatal: a service not run by systemd has no socket.
type Notifier interface {
	Ready() error
	Reloading() error
	Stopping() error
	Status(status string) error
	// WatchdogTimeout is WatchdogSec=, 0 when the watchdog is off.
	WatchdogTimeout() time.Duration
	// Watchdog pings systemd while alive reports true, until ctx ends.
	Watchdog(ctx context.Context, alive func() bool) error
}

// Options are what Run needs besides the configuration.
type Options struct {
	// Load reads the configuration again at a reload; required.
	Load func() (*config.Config, error)
	// Reloads receives a value for every reload request: the channel
	// signal.Notify fills with SIGHUP. Nil: no reloads.
	Reloads <-chan os.Signal
	// Notify tells systemd the daemon's state; required.
	Notify Notifier
	// Logger makes the process logger of a configuration's log section,
	// at the start and after every restart; required.
	Logger func(config.Log) *slog.Logger
	// Version is the onair version, reported in the state and the logs.
	Version string
}

// Run runs the daemon with cfg until ctx ends, then leaves the channel
// (DELETE), publishes offline and stops the embedded servers, in that
// order, and returns nil; or until a component fails, and returns its
// error after stopping the others. On every reload request it loads the
// configuration again: one that does not load, or is unchanged, is
// logged and the running one kept; one that changes only the agent's
// sections (see agentOnly) rebuilds the agent alone, keeping the broker,
// the relay and the MQTT connection; any other change restarts every
// component with it.
func Run(ctx context.Context, cfg *config.Config, o Options) error {
	if o.Load == nil || o.Notify == nil || o.Logger == nil {
		return errors.New("daemon: options: Load, Notify and Logger are required")
	}
	for {
		err := runOnce(ctx, cfg, o)
		var restart *restartError
		if !errors.As(err, &restart) {
			return err
		}
		cfg = restart.cfg
	}
}

// restartError ends runOnce when a reloaded configuration changes what
// only a restart of every component can apply.
type restartError struct{ cfg *config.Config }

func (e *restartError) Error() string { return "daemon: restart with the reloaded configuration" }
