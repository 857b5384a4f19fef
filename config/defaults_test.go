package config_test

import (
	"testing"

	"github.com/onair-dev/onair/audio"
	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/control"
	"github.com/onair-dev/onair/device"
	"github.com/onair-dev/onair/relay"
	"github.com/onair-dev/onair/uplink"
)

// TestDefaultsAgreeWithPackages: where a package defaults a value that the
// configuration also has, Defaults() (and so config.yaml) holds the
// package's default, so that a zero field and the shipped file mean the
// same.
func TestDefaultsAgreeWithPackages(t *testing.T) {
	d := config.Defaults()
	for _, c := range []struct {
		key           string
		config, pkg   any
		pkgConstantOf string
	}{
		{"uplink.request_timeout", d.Uplink.RequestTimeout, uplink.DefaultRequestTimeout, "uplink.DefaultRequestTimeout"},
		{"uplink.retry_min", d.Uplink.RetryMin, uplink.DefaultRetryMin, "uplink.DefaultRetryMin"},
		{"uplink.retry_max", d.Uplink.RetryMax, uplink.DefaultRetryMax, "uplink.DefaultRetryMax"},
		{"relay.max_sessions", d.Relay.MaxSessions, relay.DefaultMaxSessions, "relay.DefaultMaxSessions"},
		{"relay.max_hosts_per_channel", d.Relay.MaxHostsPerChannel, relay.DefaultAudienceSlots, "relay.DefaultAudienceSlots"},
		{"relay.max_hosts_per_channel", d.Relay.MaxHostsPerChannel, uplink.DefaultSlots, "uplink.DefaultSlots"},
		{"relay.disconnect_timeout", d.Relay.DisconnectTimeout, relay.DefaultDisconnectTimeout, "relay.DefaultDisconnectTimeout"},
		{"relay.connect_timeout", d.Relay.ConnectTimeout, relay.DefaultConnectTimeout, "relay.DefaultConnectTimeout"},
		{"relay.max_pending_per_uid", d.Relay.MaxPendingPerUID, relay.DefaultMaxPendingPerUID, "relay.DefaultMaxPendingPerUID"},
		{"relay.max_pending_per_addr", d.Relay.MaxPendingPerAddr, relay.DefaultMaxPendingPerAddr, "relay.DefaultMaxPendingPerAddr"},
		{"relay.host_reserve", d.Relay.HostReserve, relay.DefaultHostReserve, "relay.DefaultHostReserve"},
		{"mqtt.topic_prefix", d.MQTT.TopicPrefix, control.DefaultTopicPrefix, "control.DefaultTopicPrefix"},
		{"mqtt.telemetry_interval", d.MQTT.TelemetryInterval, device.DefaultTelemetryInterval, "device.DefaultTelemetryInterval"},
		{"audio.jitter_delay", d.Audio.JitterDelay, audio.DefaultTargetDelay, "audio.DefaultTargetDelay"},
	} {
		if c.config != c.pkg {
			t.Errorf("%s: Defaults() has %v, %s is %v", c.key, c.config, c.pkgConstantOf, c.pkg)
		}
	}
}
