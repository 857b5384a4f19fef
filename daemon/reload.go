package daemon

import (
	"log/slog"
	"reflect"

	"github.com/onair-dev/onair/config"
)

// reloadAction is what a reloaded configuration asks of the running daemon.
type reloadAction int

// Reload actions; the zero value keeps the running configuration.
const (
	reloadKeep    reloadAction = iota // unchanged, or it does not load
	reloadAgent                       // only the agent's sections changed
	reloadRestart                     // restart every component
)

// decideReload is what going from cur to next needs.
func decideReload(cur, next *config.Config) reloadAction {
	switch {
	case reflect.DeepEqual(cur, next):
		return reloadKeep
	case agentOnly(cur, next):
		return reloadAgent
	}
	return reloadRestart
}

// agentOnly reports whether a and b differ only in what the device agent
// alone uses (audio, opus, uplink, autojoin, telemetry interval, and webrtc
// when the relay is off): then a reload rebuilds the agent and keeps the
// broker, the relay and the MQTT connection.
func agentOnly(a, b *config.Config) bool {
	strip := func(c *config.Config) config.Config {
		x := *c
		x.Audio, x.Opus, x.Uplink = config.Audio{}, config.Opus{}, config.Uplink{}
		x.Device.Autojoin, x.MQTT.TelemetryInterval = false, 0
		if !c.Relay.Enabled {
			x.WebRTC = config.WebRTC{}
		}
		return x
	}
	return reflect.DeepEqual(strip(a), strip(b))
}

// reload tells systemd a reload began and loads the configuration again;
// it returns the new one and what it needs. A configuration that does not
// load is logged and the running one kept.
func reload(cur *config.Config, load func() (*config.Config, error), notify Notifier, log *slog.Logger) (*config.Config, reloadAction) {
	_ = notify.Reloading()
	next, err := load()
	if err != nil {
		log.Error("reload: the configuration does not load; keeping the running one", "error", err)
		return cur, reloadKeep
	}
	act := decideReload(cur, next)
	if act == reloadKeep {
		log.Info("reload: configuration unchanged")
	}
	return next, act
}
