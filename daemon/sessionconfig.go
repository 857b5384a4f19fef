package daemon

import (
	"github.com/onair-dev/onair/audio"
	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/device"
	"github.com/onair-dev/onair/session"
	"github.com/onair-dev/onair/uplink"
)

// SessionConfig maps the configuration onto a session's: its audio, opus,
// uplink and webrtc values. The channel, uid, token and role are the
// caller's to set.
func SessionConfig(cfg *config.Config) session.Config {
	a, o, u := cfg.Audio, cfg.Opus, cfg.Uplink
	return session.Config{
		Audio: session.Audio{
			Input: a.Input, FallbackInput: a.FallbackInput, Output: a.Output,
			SampleRate: a.SampleRate, Channels: a.Channels, FrameMs: a.FrameMs,
			GainDB: a.GainDB, VolumeDB: a.VolumeDB, JitterDelay: a.JitterDelay,
		},
		Opus: audio.OpusOptions{
			Bitrate: o.Bitrate, Complexity: o.Complexity, Application: o.Application,
			FEC: o.FEC, ExpectedLoss: o.ExpectedLoss, DTX: o.DTX,
		},
		Uplink: session.Uplink{
			WHIPURL: u.WHIPURL, WHEPURL: u.WHEPURL,
			RequestTimeout: u.RequestTimeout, RetryMin: u.RetryMin, RetryMax: u.RetryMax,
			ICEServers: ICEServers(cfg), Network: Network(cfg),
		},
	}
}

// agentConfig maps the configuration onto what the device agent takes
// from it: the session template and the defaults of a join.
func agentConfig(cfg *config.Config) device.AgentConfig {
	return device.AgentConfig{
		Session: SessionConfig(cfg),
		Token:   cfg.Uplink.Token, UID: cfg.Uplink.UID, GainDB: cfg.Audio.GainDB, TopicPrefix: cfg.MQTT.TopicPrefix,
		RetryMin: cfg.Uplink.RetryMin, RetryMax: cfg.Uplink.RetryMax,
		TelemetryInterval: cfg.MQTT.TelemetryInterval,
	}
}

// ICEServers returns the configured STUN/TURN servers for uplink and relay peers.
func ICEServers(cfg *config.Config) []uplink.ICEServer {
	out := make([]uplink.ICEServer, 0, len(cfg.WebRTC.ICEServers))
	for _, s := range cfg.WebRTC.ICEServers {
		out = append(out, uplink.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	return out
}

// Network returns where uplink and relay peers gather ICE candidates.
// webrtc.loopback: auto leaves Loopback and NoLoopback unset: each peer
// then decides by its far end (rtcapi.NetworkConfig.ForPeer).
func Network(cfg *config.Config) uplink.NetworkConfig {
	return uplink.NetworkConfig{
		Interfaces: cfg.WebRTC.Interfaces,
		Loopback:   cfg.WebRTC.Loopback == config.LoopbackAlways,
		NoLoopback: cfg.WebRTC.Loopback == config.LoopbackNever,
	}
}
