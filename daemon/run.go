package daemon

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/onair-dev/onair/broker"
	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/control"
	"github.com/onair-dev/onair/device"
	"github.com/onair-dev/onair/provision"
	"github.com/onair-dev/onair/relay"
)

// runOnce runs every component of cfg until ctx ends (nil), a component
// fails (its error), or a reload needs a restart (*restartError). Every
// component started is stopped, in stage order, and waited for before it
// returns, whatever the path out.
func runOnce(ctx context.Context, cfg *config.Config, o Options) (err error) {
	log := o.Logger(cfg.Log)
	id, err := provision.DeviceID(cfg.Device.ID)
	if err != nil {
		return &config.Error{Key: "device.id", Err: err}
	}
	dir, err := provision.StateDir(cfg.Device.StateDir)
	if err != nil {
		return &config.Error{Key: "device.state_dir", Err: err}
	}
	secret, err := relaySecret(cfg, dir)
	if err != nil {
		return err
	}

	sup := newSupervisor()
	defer func() {
		var restart *restartError
		if !errors.As(err, &restart) {
			_ = o.Notify.Stopping()
		}
		serr := sup.stop()
		switch {
		case serr == nil:
		case restart != nil:
			err = serr // a failure beats the restart
		default:
			err = errors.Join(err, serr)
		}
	}()

	var embedded string
	mqttUser, mqttPass := cfg.MQTT.Username, cfg.MQTT.Password
	if cfg.MQTT.Broker == "embedded" {
		// The board's own connection and its operator (onair ctl) get
		// credentials of their own; see broker.Board.
		creds, err := broker.LoadOrCreateCredentials(dir)
		if err != nil {
			return err
		}
		mqttUser, mqttPass = broker.BoardUser, creds.Board
		b, err := broker.New(broker.Config{Listen: cfg.MQTT.Listen, Username: cfg.MQTT.Username, Password: cfg.MQTT.Password, Log: log,
			Board: &broker.Board{DeviceID: id, TopicPrefix: cfg.MQTT.TopicPrefix, Credentials: creds}})
		if err != nil {
			return &config.Error{Key: "mqtt.listen", Err: err}
		}
		embedded = b.Addr()
		sup.start(stageServers, "broker", b.Run)
	}
	if cfg.Relay.Enabled {
		rc := RelayConfig(cfg)
		rc.TokenSecret = secret
		r, err := relay.New(rc, log)
		if err != nil {
			return err
		}
		sup.start(stageServers, "relay", r.Run)
	}
	client, err := control.New(control.Config{
		Broker: brokerURL(cfg, embedded), DeviceID: id, TopicPrefix: cfg.MQTT.TopicPrefix, Groups: cfg.Device.Groups,
		Username: mqttUser, Password: mqttPass,
		CAFile: cfg.MQTT.CAFile, CertFile: cfg.MQTT.CertFile, KeyFile: cfg.MQTT.KeyFile, Log: log,
	})
	if err != nil {
		return &config.Error{Key: "mqtt", Err: err}
	}
	p := &parts{id: id, dir: dir, secret: secret, version: o.Version, client: client,
		heartbeat: &device.Heartbeat{}, notify: o.Notify, log: log}
	agent, err := p.newAgent(cfg)
	if err != nil {
		return err
	}
	handler := &agentHandler{}
	handler.cur.Store(agent)
	sup.start(stageMQTT, "mqtt", func(ctx context.Context) error { return client.Run(ctx, handler) })

	if cfg.Relay.Enabled {
		log.Info("listen page", "url", listenURL(cfg, secret))
	}
	log.Info("onair running", "device", id, "broker", brokerURL(cfg, embedded), "relay", cfg.Relay.Enabled,
		"state_dir", dir, "version", o.Version)
	running := sup.start(stageAgent, "agent", agent.Run)
	sup.start(stageAgent, "watchdog", func(ctx context.Context) error {
		maxAge := max(o.Notify.WatchdogTimeout()/2, 2*time.Second)
		return o.Notify.Watchdog(ctx, func() bool { return p.heartbeat.Alive(maxAge) })
	})
	_ = o.Notify.Ready()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sup.ctx.Done():
			return nil // a component failed: the deferred stop returns its error
		case <-o.Reloads:
		}
		next, act := reload(cfg, o.Load, o.Notify, log)
		switch act {
		case reloadRestart:
			return &restartError{next}
		case reloadAgent:
			// Only the agent's sections changed: rebuild the agent (it
			// leaves and rejoins from its desired state), keep the rest.
			log.Info("reload: rebuilding the device agent only")
			running.stop()
			if sup.ctx.Err() != nil {
				return nil // the old agent failed to stop: that ends the daemon
			}
			if agent, err = p.newAgent(next); err != nil {
				return err
			}
			cfg = next
			handler.cur.Store(agent)
			running = sup.start(stageAgent, "agent", agent.Run)
			agent.Connected()
		}
		_ = o.Notify.Ready()
	}
}

// relaySecret is the embedded relay's secret: relay.token_secret, or, when
// it is empty and the relay is not open to anyone, the one the board keeps
// in its state directory (a standalone board's relay needs tokens, and the
// board mints its own). Empty when the relay is off.
func relaySecret(cfg *config.Config, dir string) (string, error) {
	if !cfg.Relay.Enabled || cfg.Relay.TokenSecret != "" || cfg.Relay.AllowAnonymous {
		return cfg.Relay.TokenSecret, nil
	}
	return provision.RelaySecret(dir)
}

// parts are what every agent of one run of the components shares.
type parts struct {
	id, dir, secret, version string
	client                   *control.Client
	heartbeat                *device.Heartbeat
	notify                   Notifier
	log                      *slog.Logger
}
