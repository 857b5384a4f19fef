package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onair-dev/onair/channel"
	"github.com/onair-dev/onair/token"
)

// Validate checks every key and returns an *Error naming the first bad one.
func (c *Config) Validate() error {
	for _, check := range []func() error{
		func() error { return topicWord("device.id", c.Device.ID, true) },
		func() error { return topicWords("device.groups", c.Device.Groups) },
		func() error { return broker("mqtt.broker", c.MQTT.Broker) },
		func() error { return listenAddr("mqtt.listen", c.MQTT.Listen) },
		func() error { return topicWord("mqtt.topic_prefix", c.MQTT.TopicPrefix, false) },
		func() error { return atLeast("mqtt.telemetry_interval", c.MQTT.TelemetryInterval, time.Second) },
		func() error { return oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error") },
		func() error { return oneOf("log.format", c.Log.Format, "text", "json") },
		func() error { return notEmpty("audio.input", c.Audio.Input) },
		func() error {
			return oneOfInt("audio.sample_rate", c.Audio.SampleRate, 8000, 12000, 16000, 24000, 48000)
		},
		func() error { return oneOfInt("audio.channels", c.Audio.Channels, 1, 2) },
		func() error { return oneOfInt("audio.frame_ms", c.Audio.FrameMs, 10, 20, 40, 60) },
		func() error { return between("audio.gain_db", c.Audio.GainDB, -60, 40) },
		func() error { return notEmpty("audio.output", c.Audio.Output) },
		func() error { return between("audio.volume_db", c.Audio.VolumeDB, -60, 20) },
		func() error {
			return durationBetween("audio.jitter_delay", c.Audio.JitterDelay, 20*time.Millisecond, 200*time.Millisecond)
		},
		func() error { return between("opus.bitrate", float64(c.Opus.Bitrate), 6000, 510000) },
		func() error { return between("opus.complexity", float64(c.Opus.Complexity), 0, 10) },
		func() error { return oneOf("opus.application", c.Opus.Application, "audio", "voip", "lowdelay") },
		func() error { return between("opus.expected_loss", float64(c.Opus.ExpectedLoss), 0, 100) },
		func() error { return endpoint("uplink.whip_url", c.Uplink.WHIPURL) },
		func() error { return endpoint("uplink.whep_url", c.Uplink.WHEPURL) },
		func() error { return oneOf("uplink.role", c.Uplink.Role, "host", "audience") },
		func() error { return channelName("uplink.channel", c.Uplink.Channel) },
		func() error { return atLeast("uplink.request_timeout", c.Uplink.RequestTimeout, 100*time.Millisecond) },
		func() error { return atLeast("uplink.retry_min", c.Uplink.RetryMin, 10*time.Millisecond) },
		func() error { return atLeast("uplink.retry_max", c.Uplink.RetryMax, c.Uplink.RetryMin) },
		func() error { return iceServers("webrtc.ice_servers", c.WebRTC.ICEServers) },
		func() error {
			return oneOf("webrtc.loopback", string(c.WebRTC.Loopback),
				string(LoopbackAuto), string(LoopbackAlways), string(LoopbackNever))
		},
		func() error { return listenAddr("relay.listen", c.Relay.Listen) },
		func() error { return secret("relay.token_secret", c.Relay.TokenSecret) },
		func() error { return between("relay.max_sessions", float64(c.Relay.MaxSessions), 1, 100000) },
		func() error { return between("relay.max_hosts_per_channel", float64(c.Relay.MaxHostsPerChannel), 1, 8) },
		func() error { return atLeast("relay.disconnect_timeout", c.Relay.DisconnectTimeout, time.Second) },
		func() error { return atLeast("relay.connect_timeout", c.Relay.ConnectTimeout, time.Second) },
		func() error { return between("relay.max_pending_per_uid", float64(c.Relay.MaxPendingPerUID), 1, 1000) },
		func() error {
			return between("relay.max_pending_per_addr", float64(c.Relay.MaxPendingPerAddr), 1, 100000)
		},
		func() error {
			return between("relay.host_reserve", float64(c.Relay.HostReserve), 0, float64(c.Relay.MaxSessions-1))
		},
		func() error { return certPair("relay.tls", c.Relay.TLS.CertFile, c.Relay.TLS.KeyFile) },
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func oneOf(key, v string, allowed ...string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return &Error{Key: key, Err: fmt.Errorf("%q: must be one of %s", v, strings.Join(allowed, ", "))}
}

func oneOfInt(key string, v int, allowed ...int) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return &Error{Key: key, Err: fmt.Errorf("%d: must be one of %v", v, allowed)}
}

func between(key string, v, lo, hi float64) error {
	if v >= lo && v <= hi {
		return nil
	}
	return &Error{Key: key, Err: fmt.Errorf("%g: must be between %g and %g", v, lo, hi)}
}

func atLeast(key string, v, lo time.Duration) error {
	if v >= lo {
		return nil
	}
	return &Error{Key: key, Err: fmt.Errorf("%s: must be at least %s", v, lo)}
}

func durationBetween(key string, v, lo, hi time.Duration) error {
	if v >= lo && v <= hi {
		return nil
	}
	return &Error{Key: key, Err: fmt.Errorf("%s: must be between %s and %s", v, lo, hi)}
}

func notEmpty(key, v string) error {
	if v != "" {
		return nil
	}
	return &Error{Key: key, Err: errors.New("must not be empty")}
}

func channelName(key, v string) error {
	if err := channel.ValidateName(v); err != nil {
		return &Error{Key: key, Err: err}
	}
	return nil
}

// endpoint checks an http(s) URL template; {channel} and {uid} may appear.
func endpoint(key, v string) error {
	u, err := url.Parse(channel.ExpandURL(v, "c", "u"))
	if err == nil && (u.Scheme != "http" && u.Scheme != "https" || u.Host == "") {
		err = errors.New("must be an http:// or https:// URL")
	}
	if err != nil {
		return &Error{Key: key, Err: fmt.Errorf("%q: %w", v, err)}
	}
	return nil
}

// secret checks a token secret: empty (none) or at least
// token.MinSecretLen bytes.
func secret(key, v string) error {
	if v == "" || len(v) >= token.MinSecretLen {
		return nil
	}
	return &Error{Key: key, Err: fmt.Errorf("%d bytes: must be at least %d (e.g. openssl rand -hex 32)", len(v), token.MinSecretLen)}
}

// certPair checks a TLS certificate and key file: both or neither, each
// readable.
func certPair(key, cert, priv string) error {
	switch {
	case cert == "" && priv == "":
		return nil
	case cert == "":
		return &Error{Key: key + ".cert_file", Err: errors.New("must be set with " + key + ".key_file")}
	case priv == "":
		return &Error{Key: key + ".key_file", Err: errors.New("must be set with " + key + ".cert_file")}
	}
	for _, f := range []struct{ key, path string }{{key + ".cert_file", cert}, {key + ".key_file", priv}} {
		fh, err := os.Open(f.path)
		if err != nil {
			return &Error{Key: f.key, Err: fmt.Errorf("cannot read: %w", err)}
		}
		_ = fh.Close()
	}
	return nil
}

// topicWord checks a name that becomes one MQTT topic level: no
// wildcards, no separator (MQTT 3.1.1 §4.7.1).
func topicWord(key, v string, mayBeEmpty bool) error {
	switch {
	case v == "" && mayBeEmpty:
		return nil
	case v == "":
		return &Error{Key: key, Err: errors.New("must not be empty")}
	case strings.ContainsAny(v, "+#/\x00"), len(v) > 128:
		return &Error{Key: key, Err: fmt.Errorf("%q: must be one MQTT topic level (no + # /, at most 128 bytes)", v)}
	}
	return nil
}

func topicWords(key string, list []string) error {
	for i, v := range list {
		if err := topicWord(fmt.Sprintf("%s[%d]", key, i), v, false); err != nil {
			return err
		}
	}
	return nil
}

// broker checks "embedded" or an MQTT broker URL.
func broker(key, v string) error {
	if v == "embedded" {
		return nil
	}
	u, err := url.Parse(v)
	if err == nil && (!slices.Contains([]string{"tcp", "ssl", "tls", "ws", "wss"}, u.Scheme) || u.Host == "") {
		err = errors.New("must be embedded or a tcp://, ssl://, ws:// or wss:// URL")
	}
	if err != nil {
		return &Error{Key: key, Err: fmt.Errorf("%q: %w", v, err)}
	}
	return nil
}

// listenAddr checks a host:port to listen on; the host may be empty.
func listenAddr(key, v string) error {
	_, port, err := net.SplitHostPort(v)
	if err == nil {
		var n int
		n, err = strconv.Atoi(port)
		if err == nil && (n < 0 || n > 65535) {
			err = errors.New("port out of range")
		}
	}
	if err != nil {
		return &Error{Key: key, Err: fmt.Errorf("%q: must be host:port or :port: %w", v, err)}
	}
	return nil
}

func iceServers(key string, servers []ICEServer) error {
	for i, s := range servers {
		k := fmt.Sprintf("%s[%d].urls", key, i)
		if len(s.URLs) == 0 {
			return &Error{Key: k, Err: errors.New("must list at least one stun:, stuns:, turn: or turns: URL")}
		}
		for _, u := range s.URLs {
			scheme, _, _ := strings.Cut(u, ":")
			if !slices.Contains([]string{"stun", "stuns", "turn", "turns"}, scheme) {
				return &Error{Key: k, Err: fmt.Errorf("%q: must start with stun:, stuns:, turn: or turns:", u)}
			}
		}
	}
	return nil
}
