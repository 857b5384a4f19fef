// Package config loads onair's configuration: in-code defaults, then the
// YAML file given with --config, then ONAIR_… environment variables, then
// command-line flags, into one typed Config that is validated as a whole.
package config

import (
	"time"

	"github.com/onair-dev/onair/internal/defaults"
)

// Config is the whole configuration of onair. Its zero value is not useful:
// start from Defaults.
type Config struct {
	Device Device `mapstructure:"device"`
	MQTT   MQTT   `mapstructure:"mqtt"`
	Log    Log    `mapstructure:"log"`
	Audio  Audio  `mapstructure:"audio"`
	Opus   Opus   `mapstructure:"opus"`
	Uplink Uplink `mapstructure:"uplink"`
	WebRTC WebRTC `mapstructure:"webrtc"`
	Relay  Relay  `mapstructure:"relay"`
}

// Device configures the device agent of `onair run`.
type Device struct {
	ID     string   `mapstructure:"id"`     // device id in MQTT topics; empty: the host name
	Groups []string `mapstructure:"groups"` // groups whose P/group/G/cmd the device obeys
	// StateDir holds the desired state that survives power loss; empty:
	// $STATE_DIRECTORY (systemd's StateDirectory=), else ~/.local/state/onair.
	StateDir string `mapstructure:"state_dir"`
	// Autojoin joins uplink.channel as uplink.role at start when no desired
	// state was saved.
	Autojoin bool `mapstructure:"autojoin"`
}

// MQTT configures the fleet control connection.
type MQTT struct {
	// Broker is "embedded" (run a broker in onair on Listen) or the URL
	// of the fleet's broker: tcp://, ssl://, ws:// or wss://.
	Broker            string        `mapstructure:"broker"`
	Listen            string        `mapstructure:"listen"` // the embedded broker's address
	TopicPrefix       string        `mapstructure:"topic_prefix"`
	Username          string        `mapstructure:"username"`
	Password          string        `mapstructure:"password"`
	CAFile            string        `mapstructure:"ca_file"`   // CA that signs the broker's certificate
	CertFile          string        `mapstructure:"cert_file"` // client certificate (mTLS)
	KeyFile           string        `mapstructure:"key_file"`
	TelemetryInterval time.Duration `mapstructure:"telemetry_interval"`
}

// Log configures the structured log written to standard error.
type Log struct {
	Level  string `mapstructure:"level"`  // debug, info, warn or error
	Format string `mapstructure:"format"` // text or json
}

// Audio configures the capture side.
type Audio struct {
	// Input is "default", a device index, a device name substring,
	// "tone:<Hz>" or "file:<path.wav>".
	Input string `mapstructure:"input"`
	// FallbackInput is played, as host, while Input cannot be opened (a
	// board without a microphone, one unplugged); empty for none.
	FallbackInput string  `mapstructure:"fallback_input"`
	SampleRate    int     `mapstructure:"sample_rate"` // 8000, 12000, 16000, 24000 or 48000
	Channels      int     `mapstructure:"channels"`    // 1 or 2
	FrameMs       int     `mapstructure:"frame_ms"`    // 10, 20, 40 or 60
	GainDB        float64 `mapstructure:"gain_db"`     // input gain, -60 … +40 dB
	// Output is where the audience role plays: "default", a device index
	// or a device name substring.
	Output      string        `mapstructure:"output"`
	VolumeDB    float64       `mapstructure:"volume_db"`    // output volume, -60 … +20 dB
	JitterDelay time.Duration `mapstructure:"jitter_delay"` // jitter buffer target on a calm network
}

// Opus configures the encoder (RFC 6716 options exposed by libopus).
type Opus struct {
	Bitrate      int    `mapstructure:"bitrate"`       // bits per second, 6000 … 510000
	Complexity   int    `mapstructure:"complexity"`    // 0 … 10
	Application  string `mapstructure:"application"`   // audio, voip or lowdelay
	FEC          bool   `mapstructure:"fec"`           // in-band forward error correction
	ExpectedLoss int    `mapstructure:"expected_loss"` // packet loss % the FEC is tuned for, 0 … 100
	DTX          bool   `mapstructure:"dtx"`           // discontinuous transmission in silence
}

// Uplink configures the channel server sessions (WHIP publish).
type Uplink struct {
	// WHIPURL is the WHIP endpoint template; {channel} and {uid} are
	// replaced (URL-escaped) by the channel name and the uid.
	WHIPURL string `mapstructure:"whip_url"`
	// WHEPURL is the WHEP endpoint template of the audience role.
	WHEPURL        string        `mapstructure:"whep_url"`
	Role           string        `mapstructure:"role"`    // host or audience
	Token          string        `mapstructure:"token"`   // Bearer token, empty for none
	Channel        string        `mapstructure:"channel"` // channel name, 1–64 bytes
	UID            string        `mapstructure:"uid"`     // empty: the host name
	RequestTimeout time.Duration `mapstructure:"request_timeout"`
	RetryMin       time.Duration `mapstructure:"retry_min"` // first retry pause
	RetryMax       time.Duration `mapstructure:"retry_max"` // longest retry pause
}

// WebRTC configures the ICE agent shared by every PeerConnection.
type WebRTC struct {
	// ICEServers are STUN/TURN servers, used beside those a WHIP/WHEP
	// endpoint announces in Link headers.
	ICEServers []ICEServer `mapstructure:"ice_servers"`
	// Interfaces limits ICE to these network interfaces; empty means all.
	Interfaces []string `mapstructure:"interfaces"`
	// Loopback says when loopback candidates are gathered too: LoopbackAuto
	// for an endpoint on this machine (localhost, 127.0.0.0/8, ::1; the
	// embedded relay when it listens there) or a machine with no other
	// interface up, LoopbackAlways, or LoopbackNever. YAML true and false
	// mean always and never.
	Loopback Loopback `mapstructure:"loopback"`
}

// Loopback is the value of webrtc.loopback.
type Loopback string

// Values of webrtc.loopback.
const (
	LoopbackAuto   Loopback = "auto"
	LoopbackAlways Loopback = "true"
	LoopbackNever  Loopback = "false"
)

// Relay configures the embedded channel server (WHIP/WHEP, listen page).
type Relay struct {
	Enabled bool   `mapstructure:"enabled"` // `onair run` serves the relay too
	Listen  string `mapstructure:"listen"`  // address to serve HTTP on
	// TokenSecret signs and verifies the HS256 tokens; without it the relay
	// only starts when AllowAnonymous is set.
	TokenSecret        string        `mapstructure:"token_secret"`
	AllowAnonymous     bool          `mapstructure:"allow_anonymous"`
	MaxSessions        int           `mapstructure:"max_sessions"`          // WHIP and WHEP sessions in all
	MaxHostsPerChannel int           `mapstructure:"max_hosts_per_channel"` // hosts in one channel
	DisconnectTimeout  time.Duration `mapstructure:"disconnect_timeout"`    // reap a vanished client after this
	// ConnectTimeout reaps a session that has not connected this long
	// after its POST or an ICE restart.
	ConnectTimeout    time.Duration `mapstructure:"connect_timeout"`
	MaxPendingPerUID  int           `mapstructure:"max_pending_per_uid"`  // sessions not connected yet, per uid of a channel
	MaxPendingPerAddr int           `mapstructure:"max_pending_per_addr"` // sessions not connected yet, per client address
	HostReserve       int           `mapstructure:"host_reserve"`         // sessions audiences may not take
	// TLS, when both files are set, makes the relay serve HTTPS: browsers
	// give a page the microphone only on a secure origin (HTTPS or
	// localhost).
	TLS RelayTLS `mapstructure:"tls"`
}

// RelayTLS is the relay's HTTPS certificate: both files or neither.
type RelayTLS struct {
	CertFile string `mapstructure:"cert_file"` // PEM certificate chain, the server's first
	KeyFile  string `mapstructure:"key_file"`  // PEM private key of the certificate
}

// ICEServer is one STUN or TURN server.
type ICEServer struct {
	URLs       []string `mapstructure:"urls"`
	Username   string   `mapstructure:"username"`
	Credential string   `mapstructure:"credential"`
}

// Defaults returns the configuration of a standalone board; the shipped
// config.yaml holds the same values.
func Defaults() Config {
	return Config{
		Device: Device{ID: "", Groups: []string{}, StateDir: "", Autojoin: true},
		MQTT: MQTT{
			Broker:            "embedded",
			Listen:            "127.0.0.1:1883",
			TopicPrefix:       "onair",
			TelemetryInterval: 10 * time.Second,
		},
		Log: Log{Level: "info", Format: "text"},
		Audio: Audio{
			Input:         "default",
			FallbackInput: "tone:440",
			SampleRate:    48000,
			Channels:      1,
			FrameMs:       20,
			GainDB:        0,
			Output:        "default",
			VolumeDB:      0,
			JitterDelay:   defaults.JitterDelay,
		},
		Opus: Opus{
			Bitrate:      32000,
			Complexity:   5,
			Application:  "audio",
			FEC:          true,
			ExpectedLoss: 10,
			DTX:          false,
		},
		Uplink: Uplink{
			WHIPURL:        "http://127.0.0.1:8080/whip/{channel}?uid={uid}",
			WHEPURL:        "http://127.0.0.1:8080/whep/{channel}?uid={uid}",
			Role:           "host",
			Token:          "",
			Channel:        "demo",
			UID:            "",
			RequestTimeout: defaults.UplinkRequestTimeout,
			RetryMin:       defaults.UplinkRetryMin,
			RetryMax:       defaults.UplinkRetryMax,
		},
		WebRTC: WebRTC{
			ICEServers: []ICEServer{},
			Interfaces: []string{},
			Loopback:   LoopbackAuto,
		},
		Relay: Relay{
			Enabled:            true,
			Listen:             ":8080",
			TokenSecret:        "",
			AllowAnonymous:     false,
			MaxSessions:        defaults.RelayMaxSessions,
			MaxHostsPerChannel: defaults.RelayHostSlots,
			DisconnectTimeout:  defaults.RelayDisconnectTimeout,
			ConnectTimeout:     defaults.RelayConnectTimeout,
			MaxPendingPerUID:   defaults.RelayMaxPendingPerUID,
			MaxPendingPerAddr:  defaults.RelayMaxPendingPerAddr,
			HostReserve:        defaults.RelayHostReserve,
			TLS:                RelayTLS{CertFile: "", KeyFile: ""},
		},
	}
}
