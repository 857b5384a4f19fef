package daemon

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/device"
)

// TestStatusLine: systemd's status line says what the board does.
func TestStatusLine(t *testing.T) {
	for _, tc := range []struct {
		r    device.Reported
		want string
	}{
		{device.Reported{State: device.StateJoined, Channel: "lobby", Role: device.RoleHost}, "on air: lobby as host"},
		{device.Reported{State: device.StateJoined, Channel: "lobby", Role: device.RoleAudience}, "on air: lobby as audience"},
		{device.Reported{State: device.StateRetrying, Channel: "lobby", Role: device.RoleHost,
			Error: &device.ErrorBody{Code: device.CodeUnavailable, Message: "whip: post offer: connection refused"}},
			"retrying: whip: post offer: connection refused"},
		{device.Reported{State: device.StateIdle}, "idle"},
		{device.Reported{State: device.StateJoining, Channel: "lobby", Role: device.RoleHost}, "joining: lobby"},
		{device.Reported{State: device.StateLeaving, Channel: "lobby"}, "leaving: lobby"},
	} {
		if got := statusLine(tc.r); got != tc.want {
			t.Errorf("statusLine(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}

// TestDecideReload: an unchanged configuration is kept, a change to the
// agent's sections rebuilds the agent, anything else restarts; webrtc is
// the agent's alone while the relay is off.
func TestDecideReload(t *testing.T) {
	base := config.Defaults()
	base.Relay.Enabled = false
	for _, tc := range []struct {
		name   string
		change func(*config.Config)
		want   reloadAction
	}{
		{"unchanged", func(*config.Config) {}, reloadKeep},
		{"gain", func(c *config.Config) { c.Audio.GainDB = -6 }, reloadAgent},
		{"opus bitrate", func(c *config.Config) { c.Opus.Bitrate = 64000 }, reloadAgent},
		{"uplink channel", func(c *config.Config) { c.Uplink.Channel = "lobby" }, reloadAgent},
		{"autojoin", func(c *config.Config) { c.Device.Autojoin = !c.Device.Autojoin }, reloadAgent},
		{"telemetry interval", func(c *config.Config) { c.MQTT.TelemetryInterval *= 2 }, reloadAgent},
		{"webrtc, relay off", func(c *config.Config) { c.WebRTC.Loopback = config.LoopbackAlways }, reloadAgent},
		{"webrtc, relay on", func(c *config.Config) { c.Relay.Enabled = true; c.WebRTC.Loopback = config.LoopbackAlways }, reloadRestart},
		{"groups", func(c *config.Config) { c.Device.Groups = []string{"lobby"} }, reloadRestart},
		{"broker", func(c *config.Config) { c.MQTT.Broker = "tcp://127.0.0.1:1883" }, reloadRestart},
		{"log level", func(c *config.Config) { c.Log.Level = "debug" }, reloadRestart},
	} {
		cur, next := base, base
		if tc.name == "webrtc, relay on" {
			cur.Relay.Enabled = true
		}
		tc.change(&next)
		if got := decideReload(&cur, &next); got != tc.want {
			t.Errorf("%s: decideReload = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestReloadAgentOnly: a reload that changes only the agent's sections
// rebuilds the agent and keeps the broker (no second listener) and the
// MQTT connection (no second connect), through which the new agent
// answers; systemd hears RELOADING=1, then READY=1.
func TestReloadAgentOnly(t *testing.T) {
	checkGoroutines(t)
	h := newHarness()
	cfg := testConfig(t)
	stop := start(func(ctx context.Context) error { return Run(ctx, cfg, h.opts) })
	h.notify.await(t, "READY=1", 1)
	h.logs.await(t, "mqtt: connected", 1)
	url := h.logs.attr("onair running", "broker")
	if r := status(t, url, cfg); !strings.Contains(r, `"ok":true`) {
		t.Fatalf("status before the reload: %s", r)
	}
	h.notify.await(t, "STATUS=idle", 1)

	next := *cfg
	next.Audio.GainDB = -6
	h.reload(&next, nil)
	h.logs.await(t, "reload: rebuilding the device agent only", 1)
	h.notify.await(t, "READY=1", 2)
	h.logs.await(t, "no desired state yet", 2) // the new agent started
	if r := status(t, url, cfg); !strings.Contains(r, `"ok":true`) {
		t.Fatalf("status after the reload: %s", r)
	}
	if err := stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for msg, want := range map[string]int{"broker: listening": 1, "mqtt: connected": 1, "onair running": 1} {
		if n := h.logs.count(msg); n != want {
			t.Errorf("%q logged %d times, want %d: the agent-only reload kept the broker and the connection\n%s", msg, n, want, h.logs)
		}
	}
	if h.notify.count("RELOADING=1") != 1 || h.notify.count("STOPPING=1") != 1 {
		t.Errorf("notifications %q, want one RELOADING=1 and one STOPPING=1 at the end", h.notify.msgs)
	}
}

// TestReloadRestart: a change outside the agent's sections ends the run
// of the components with a restart carrying the new configuration, after
// stopping every one of them; Run then starts them again with it.
func TestReloadRestart(t *testing.T) {
	checkGoroutines(t)
	h := newHarness()
	cfg := testConfig(t)
	done := make(chan error, 1)
	go func() { done <- runOnce(context.Background(), cfg, h.opts) }()
	h.notify.await(t, "READY=1", 1)
	h.logs.await(t, "mqtt: connected", 1)
	next := *cfg
	next.Device.Groups = []string{"lobby"}
	h.reload(&next, nil)
	err := <-done
	var restart *restartError
	if !errors.As(err, &restart) || len(restart.cfg.Device.Groups) != 1 {
		t.Fatalf("runOnce = %v, want a restart with the new groups", err)
	}
	if n := h.notify.count("STOPPING=1"); n != 0 {
		t.Errorf("STOPPING=1 sent %d times at a restart, want none", n)
	}
	if n := h.logs.count("mqtt: disconnected"); n != 1 {
		t.Errorf("the MQTT client did not disconnect before runOnce returned\n%s", h.logs)
	}
	brokerStopped(t, h.logs.attr("onair running", "broker"))

	// Run restarts every component with the new configuration.
	h2 := newHarness()
	stop := start(func(ctx context.Context) error { return Run(ctx, cfg, h2.opts) })
	h2.notify.await(t, "READY=1", 1)
	h2.logs.await(t, "mqtt: connected", 1)
	h2.reload(&next, nil)
	h2.notify.await(t, "READY=1", 2)
	h2.logs.await(t, "mqtt: connected", 2)
	if n := h2.logs.count("onair running"); n != 2 {
		t.Errorf("onair running logged %d times, want twice", n)
	}
	if err := stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestReloadDoesNotLoad: a configuration that fails to load is logged and
// the running one kept: no component restarts and the agent still answers.
func TestReloadDoesNotLoad(t *testing.T) {
	checkGoroutines(t)
	h := newHarness()
	cfg := testConfig(t)
	stop := start(func(ctx context.Context) error { return Run(ctx, cfg, h.opts) })
	h.notify.await(t, "READY=1", 1)
	h.logs.await(t, "mqtt: connected", 1)
	h.reload(nil, &config.Error{Key: "audio.frame_ms", Err: errors.New("must be one of 10, 20, 40, 60")})
	h.logs.await(t, "reload: the configuration does not load; keeping the running one", 1)
	h.notify.await(t, "READY=1", 2)
	if r := status(t, h.logs.attr("onair running", "broker"), cfg); !strings.Contains(r, `"ok":true`) {
		t.Fatalf("status after a refused reload: %s", r)
	}
	if err := stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for msg, want := range map[string]int{"onair running": 1, "mqtt: connected": 1, "no desired state yet": 1} {
		if n := h.logs.count(msg); n != want {
			t.Errorf("%q logged %d times, want %d\n%s", msg, n, want, h.logs)
		}
	}
}

// TestRelayFailureStopsAll: a relay that cannot listen makes Run return
// its error once every other component (broker, MQTT client, agent) has
// stopped.
func TestRelayFailureStopsAll(t *testing.T) {
	checkGoroutines(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	h := newHarness()
	cfg := testConfig(t)
	cfg.Relay.Enabled = true
	cfg.Relay.Listen = taken.Addr().String()
	cfg.WebRTC.Interfaces, cfg.WebRTC.Loopback = []string{"lo"}, config.LoopbackAlways
	err = Run(context.Background(), cfg, h.opts)
	if err == nil || !strings.Contains(err.Error(), "relay: listen") {
		t.Fatalf("Run = %v, want the relay's listen error", err)
	}
	if n := h.notify.count("STOPPING=1"); n != 1 {
		t.Errorf("STOPPING=1 sent %d times, want once", n)
	}
	if url := h.logs.attr("onair running", "broker"); url != "" {
		brokerStopped(t, url)
	}
}

// brokerStopped fails t unless the port of the broker at url is free
// again.
func brokerStopped(t *testing.T, url string) {
	t.Helper()
	ln, err := net.Listen("tcp", strings.TrimPrefix(url, "tcp://"))
	if err != nil {
		t.Errorf("the broker's address %s is still taken after Run returned: %v", url, err)
		return
	}
	ln.Close()
}

// TestBrokerPortTaken: an embedded broker that cannot listen is a
// configuration error naming mqtt.listen (exit status 78).
func TestBrokerPortTaken(t *testing.T) {
	checkGoroutines(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	h := newHarness()
	cfg := testConfig(t)
	cfg.MQTT.Listen = taken.Addr().String()
	err = Run(context.Background(), cfg, h.opts)
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != "mqtt.listen" {
		t.Fatalf("Run = %v, want a config.Error for mqtt.listen", err)
	}
}

// TestEarlyErrorStopsStarted: an error after the broker started (here the
// MQTT client refuses its configuration) stops and waits for the broker
// before Run returns it.
func TestEarlyErrorStopsStarted(t *testing.T) {
	checkGoroutines(t)
	h := newHarness()
	cfg := testConfig(t)
	cfg.MQTT.TopicPrefix = "bad+prefix"
	err := Run(context.Background(), cfg, h.opts)
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != "mqtt" {
		t.Fatalf("Run = %v, want a config.Error for mqtt", err)
	}
	if h.logs.count("broker: listening") != 1 {
		t.Fatalf("the broker did not start first:\n%s", h.logs)
	}
	if n := h.notify.count("READY=1"); n != 0 {
		t.Errorf("READY=1 sent %d times for a daemon that did not start", n)
	}
}
