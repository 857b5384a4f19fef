package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"reflect"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/onair-dev/onair/broker"
	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/control"
	"github.com/onair-dev/onair/device"
	"github.com/onair-dev/onair/relay"
	"github.com/onair-dev/onair/systemd"
	"github.com/onair-dev/onair/token"
)

func newRunCommand(stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the device agent: obey the fleet over MQTT, stay in the channel",
		Long: `Run is the daemon a board runs. It starts the embedded MQTT broker when
mqtt.broker is "embedded" and the embedded relay when relay.enabled, then the
device agent, which obeys the MQTT commands of the fleet (join, leave,
set_role, mute, unmute, set_gain, renew_token, status), reports its state,
telemetry and events, and rejoins its channel after a power cut. SIGTERM
leaves the channel cleanly.`,
		Args: cobra.NoArgs,
	}
	load := configFlags(cmd.Flags(), nil)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := load()
		if err != nil {
			return err
		}
		log := newLogger(cfg.Log, stderr)
		notify, err := systemd.NewNotifier(log)
		if err != nil {
			return err
		}
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		for {
			reloads := make(chan *config.Config)
			done := make(chan error, 1)
			go func(cfg *config.Config, log *slog.Logger) {
				done <- runDaemon(cmd.Context(), cfg, log, notify, reloads)
			}(cfg, log)
			err := forwardReloads(hup, done, reloads, &cfg, load, notify, log)
			var restart *restartError
			if !errors.As(err, &restart) {
				return err
			}
			cfg, log = restart.cfg, newLogger(restart.cfg.Log, stderr)
		}
	}
	return cmd
}

// restartError ends runDaemon when a reloaded configuration changes
// what only a restart of every component can apply.
type restartError struct{ cfg *config.Config }

func (e *restartError) Error() string { return "restart with the reloaded configuration" }

// forwardReloads waits for the daemon to end, and on every SIGHUP loads the
// configuration again and hands a valid, changed one to the daemon. A
// configuration that does not load is logged and the running one kept.
func forwardReloads(hup <-chan os.Signal, done <-chan error, reloads chan<- *config.Config, cur **config.Config,
	load func() (*config.Config, error), notify *systemd.Notifier, log *slog.Logger) error {
	for {
		select {
		case err := <-done:
			return err
		case <-hup:
			_ = notify.Reloading()
			next, err := load()
			switch {
			case err != nil:
				log.Error("reload: the configuration does not load; keeping the running one", "error", err)
				_ = notify.Ready()
			case reflect.DeepEqual(next, *cur):
				log.Info("reload: configuration unchanged")
				_ = notify.Ready()
			default:
				select {
				case reloads <- next:
					*cur = next
				case err := <-done:
					return err
				}
			}
		}
	}
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

// agentHandler passes the MQTT client's calls to the current agent, so
// that a reload can replace the agent under a running client.
type agentHandler struct{ cur atomic.Pointer[device.Agent] }

func (h *agentHandler) Command(topic string, payload []byte) { h.cur.Load().Command(topic, payload) }
func (h *agentHandler) Connected()                           { h.cur.Load().Connected() }
func (h *agentHandler) Disconnected(err error)               { h.cur.Load().Disconnected(err) }

// deviceID is device.id, else the host name.
func deviceID(cfg *config.Config) (string, error) {
	if cfg.Device.ID != "" {
		return cfg.Device.ID, nil
	}
	h, err := os.Hostname()
	if err != nil || control.CheckName(h) != nil {
		return "", &config.Error{Key: "device.id", Err: fmt.Errorf("empty, and the host name %q cannot stand for it", h)}
	}
	return h, nil
}

// brokerURL is the URL the agent connects to: the embedded broker's
// address or mqtt.broker.
func brokerURL(cfg *config.Config, embedded string) string {
	if embedded != "" {
		return "tcp://" + embedded
	}
	if cfg.MQTT.Broker == "embedded" {
		return "tcp://" + cfg.MQTT.Listen
	}
	return cfg.MQTT.Broker
}

// runDaemon runs `onair run` until ctx ends, then leaves the channel
// (DELETE), publishes offline and stops the embedded servers, in that
// order, within a few seconds.
func runDaemon(ctx context.Context, cfg *config.Config, log *slog.Logger, notify *systemd.Notifier, reloads <-chan *config.Config) error {
	id, err := deviceID(cfg)
	if err != nil {
		return err
	}
	dir, err := stateDir(cfg)
	if err != nil {
		return err
	}
	// The servers outlive the agent, so that its DELETE and its last
	// state still reach them at shutdown.
	servers, stopServers := context.WithCancel(context.Background())
	defer stopServers()
	g, gctx := errgroup.WithContext(servers)

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
		g.Go(func() error { return b.Run(gctx) })
	}
	secret := cfg.Relay.TokenSecret
	if cfg.Relay.Enabled {
		if secret, err = relaySecret(cfg, dir); err != nil {
			return err
		}
		rc := relayConfig(cfg)
		rc.TokenSecret = secret
		r, err := relay.New(rc, log)
		if err != nil {
			return err
		}
		g.Go(func() error { return r.Run(gctx) })
	}

	client, err := control.New(control.Config{
		Broker: brokerURL(cfg, embedded), DeviceID: id, TopicPrefix: cfg.MQTT.TopicPrefix, Groups: cfg.Device.Groups,
		Username: mqttUser, Password: mqttPass,
		CAFile: cfg.MQTT.CAFile, CertFile: cfg.MQTT.CertFile, KeyFile: cfg.MQTT.KeyFile, Log: log,
	})
	if err != nil {
		return &config.Error{Key: "mqtt", Err: err}
	}
	heartbeat := &device.Heartbeat{}
	newAgent := func(cfg *config.Config) (*device.Agent, error) {
		return device.NewAgent(device.AgentConfig{
			DeviceID: id, Version: Version, StateDir: dir, Config: cfg,
			Publisher:         mqttPublisher{client, notify},
			Heartbeat:         heartbeat,
			Autojoin:          autojoin(cfg),
			TelemetryInterval: cfg.MQTT.TelemetryInterval,
			TokenFor:          selfTokens(cfg, secret),
			Log:               log,
		})
	}
	agent, err := newAgent(cfg)
	if err != nil {
		return err
	}
	handler := &agentHandler{}
	handler.cur.Store(agent)
	// The MQTT client outlives the agent (its last state) and stops before
	// the embedded broker (its offline status).
	mqttCtx, stopMQTT := context.WithCancel(gctx)
	defer stopMQTT()
	mqttDone := make(chan error, 1)
	go func() { mqttDone <- client.Run(mqttCtx, handler) }()

	if cfg.Relay.Enabled {
		log.Info("listen page", "url", listenURL(cfg, secret))
	}
	log.Info("onair running", "device", id, "broker", brokerURL(cfg, embedded), "relay", cfg.Relay.Enabled,
		"state_dir", dir, "version", Version)
	// agentStops holds the cancel of every agent started; all run at return.
	agentErr := make(chan error, 1)
	var agentStops []context.CancelFunc
	defer func() {
		for _, stop := range agentStops {
			stop()
		}
	}()
	startAgent := func(a *device.Agent) {
		actx, stop := context.WithCancel(ctx)
		agentStops = append(agentStops, stop)
		go func() { agentErr <- a.Run(actx) }()
	}
	stopAgent := func() { agentStops[len(agentStops)-1]() }
	startAgent(agent)
	_ = notify.Ready()
	wdCtx, stopWatchdog := context.WithCancel(ctx)
	defer stopWatchdog()
	go func() {
		maxAge := max(notify.WatchdogTimeout()/2, 2*time.Second)
		_ = notify.Watchdog(wdCtx, func() bool { return heartbeat.Alive(maxAge) })
	}()
	for done := false; !done; {
		select {
		case err = <-agentErr:
			done = true
		case <-gctx.Done():
			// a server failed: leave, then report it
			stopAgent()
			err = <-agentErr
			done = true
		case next := <-reloads:
			if !agentOnly(cfg, next) {
				stopAgent()
				if err = <-agentErr; err == nil {
					err = &restartError{next}
				}
				done = true
				break
			}
			// Only the agent's sections changed: rebuild the agent (it
			// leaves and rejoins from its desired state), keep the rest.
			log.Info("reload: rebuilding the device agent only")
			stopAgent()
			<-agentErr
			cfg = next
			if agent, err = newAgent(cfg); err != nil {
				done = true
				break
			}
			handler.cur.Store(agent)
			startAgent(agent)
			agent.Connected()
			_ = notify.Ready()
		}
	}
	_ = notify.Stopping()
	stopMQTT()
	if merr := <-mqttDone; merr != nil && !errors.Is(merr, context.Canceled) && err == nil {
		err = merr
	}
	stopServers()
	if gerr := g.Wait(); gerr != nil && !errors.Is(gerr, context.Canceled) && err == nil {
		err = gerr
	}
	return err
}

// autojoin is the desired state of a board fresh out of the box.
func autojoin(cfg *config.Config) *device.Desired {
	if !cfg.Device.Autojoin {
		return nil
	}
	role, err := device.ParseRole(cfg.Uplink.Role)
	if err != nil {
		role = device.RoleHost
	}
	return &device.Desired{Channel: cfg.Uplink.Channel, Role: role, Token: cfg.Uplink.Token, UID: cfg.Uplink.UID, GainDB: cfg.Audio.GainDB}
}

// listenURL is the listen page of the autojoin channel on this board's
// relay, with an audience token valid for a day when the relay needs one.
func listenURL(cfg *config.Config, secret string) string {
	host := "127.0.0.1"
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil && !ip.IP.IsLoopback() {
				host = ip.IP.String()
				break
			}
		}
	}
	_, port, _ := net.SplitHostPort(cfg.Relay.Listen)
	u := "http://" + net.JoinHostPort(host, port) + "/listen/" + url.PathEscape(cfg.Uplink.Channel)
	if secret != "" {
		tok, err := token.Mint([]byte(secret), token.Claims{Channel: cfg.Uplink.Channel, UID: "listener", Role: token.RoleAudience}, 24*time.Hour)
		if err == nil {
			u += "?token=" + tok
		}
	}
	return u
}

// selfTokenTTL is how long the tokens a board mints for its own relay last;
// a new one is minted for every session.
const selfTokenTTL = 30 * 24 * time.Hour

// selfTokens mints host tokens for the board's own embedded relay when it
// has a secret and uplink.token is empty; nil otherwise.
func selfTokens(cfg *config.Config, secret string) func(channel, uid string) string {
	if !cfg.Relay.Enabled || secret == "" || cfg.Uplink.Token != "" {
		return nil
	}
	return func(ch, uid string) string {
		tok, err := token.Mint([]byte(secret), token.Claims{Channel: ch, UID: uid, Role: token.RoleHost}, selfTokenTTL)
		if err != nil {
			return ""
		}
		return tok
	}
}

// mqttPublisher adapts the MQTT client to the agent, and tells systemd the
// state it publishes (STATUS=).
type mqttPublisher struct {
	*control.Client
	notify *systemd.Notifier
}

// DefaultReplyTopic is P/D/reply.
func (p mqttPublisher) DefaultReplyTopic() string { return p.Topics().Reply }

// PublishState publishes the retained state and sets systemd's status
// line from it: "on air: lobby as host", "retrying: …", "idle".
func (p mqttPublisher) PublishState(payload []byte) error {
	var s struct {
		State   string  `json:"state"`
		Channel *string `json:"channel"`
		Role    *string `json:"role"`
		Error   *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(payload, &s) == nil {
		status := s.State
		switch {
		case s.State == "joined" && s.Channel != nil && s.Role != nil:
			status = "on air: " + *s.Channel + " as " + *s.Role
		case s.Error != nil:
			status = s.State + ": " + s.Error.Message
		case s.Channel != nil:
			status = s.State + ": " + *s.Channel
		}
		_ = p.notify.Status(status)
	}
	return p.Client.PublishState(payload)
}
