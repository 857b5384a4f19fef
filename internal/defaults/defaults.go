// Package defaults holds the default values that a package and the
// configuration both have, so that they are written once: a package's
// exported Default… constant is one of these, and config.Defaults (the
// shipped config.yaml) uses the same constant. It imports nothing but
// time, so config can use it without importing the packages (pion, paho,
// PortAudio) nor them importing config.
package defaults

import "time"

// The uplink section and package uplink.
const (
	// UplinkRequestTimeout bounds one WHIP or WHEP HTTP request
	// (uplink.request_timeout, uplink.DefaultRequestTimeout).
	UplinkRequestTimeout = 10 * time.Second
	// UplinkRetryMin is the first pause before a lost session is retried
	// (uplink.retry_min, uplink.DefaultRetryMin).
	UplinkRetryMin = 500 * time.Millisecond
	// UplinkRetryMax is the longest such pause (uplink.retry_max,
	// uplink.DefaultRetryMax).
	UplinkRetryMax = 30 * time.Second
)

// The relay section and package relay.
const (
	// RelayMaxSessions bounds the WHIP and WHEP sessions of a relay
	// (relay.max_sessions, relay.DefaultMaxSessions).
	RelayMaxSessions = 2000
	// RelayHostSlots is how many hosts a channel has at most and an
	// audience receives (relay.max_hosts_per_channel,
	// relay.DefaultAudienceSlots; uplink.DefaultSlots offers as many).
	RelayHostSlots = 8
	// RelayDisconnectTimeout is how long a relay session may stay
	// disconnected before it is reaped (relay.disconnect_timeout,
	// relay.DefaultDisconnectTimeout).
	RelayDisconnectTimeout = 5 * time.Second
	// RelayConnectTimeout is how long a relay session may take to connect
	// (relay.connect_timeout, relay.DefaultConnectTimeout).
	RelayConnectTimeout = 10 * time.Second
	// RelayMaxPendingPerUID and RelayMaxPendingPerAddr bound the sessions
	// not yet connected per token uid and per client address
	// (relay.max_pending_per_uid, relay.max_pending_per_addr).
	RelayMaxPendingPerUID  = 4
	RelayMaxPendingPerAddr = 16
	// RelayHostReserve is how many sessions audiences may not take
	// (relay.host_reserve, relay.DefaultHostReserve).
	RelayHostReserve = 32
)

// The mqtt section, package control and the device agent.
const (
	// MQTTTopicPrefix is the first topic level (mqtt.topic_prefix,
	// control.DefaultTopicPrefix).
	MQTTTopicPrefix = "onair"
	// TelemetryInterval is the period of the device's telemetry
	// (mqtt.telemetry_interval, device.DefaultTelemetryInterval).
	TelemetryInterval = 10 * time.Second
)

// The audio section and package audio.
const (
	// JitterDelay is the play-out delay of the audience role on a calm
	// network (audio.jitter_delay, audio.DefaultTargetDelay).
	JitterDelay = 40 * time.Millisecond
)
