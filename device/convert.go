package device

import (
	"github.com/onair-dev/onair/audio"
	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/uplink"
)

func opusOptions(c *config.Config) audio.OpusOptions {
	o := c.Opus
	return audio.OpusOptions{
		Bitrate: o.Bitrate, Complexity: o.Complexity, Application: o.Application,
		FEC: o.FEC, ExpectedLoss: o.ExpectedLoss, DTX: o.DTX,
	}
}

// ICEServers returns the configured STUN/TURN servers for uplink and relay peers.
func ICEServers(c *config.Config) []uplink.ICEServer {
	out := make([]uplink.ICEServer, 0, len(c.WebRTC.ICEServers))
	for _, s := range c.WebRTC.ICEServers {
		out = append(out, uplink.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	return out
}

// Network returns where uplink and relay peers gather ICE candidates.
func Network(c *config.Config) uplink.NetworkConfig {
	return uplink.NetworkConfig{Interfaces: c.WebRTC.Interfaces, Loopback: c.WebRTC.Loopback}
}
