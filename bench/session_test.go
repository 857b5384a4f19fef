package bench

import (
	"time"

	"github.com/onair-dev/onair/audio"
	"github.com/onair-dev/onair/session"
	"github.com/onair-dev/onair/uplink"
)

// benchSession is the session template of a board on the relay at base
// (empty: none) with input, in the shipped audio and opus configuration.
func benchSession(base, input string) session.Config {
	return session.Config{
		Audio: session.Audio{Input: input, FallbackInput: "tone:440", Output: "default",
			SampleRate: 48000, Channels: 1, FrameMs: 20, JitterDelay: 40 * time.Millisecond},
		Opus: audio.OpusOptions{Bitrate: 32000, Complexity: 5, Application: "audio", FEC: true, ExpectedLoss: 10},
		Uplink: session.Uplink{
			WHIPURL: base + "/whip/{channel}?uid={uid}", WHEPURL: base + "/whep/{channel}?uid={uid}",
			Network: uplink.NetworkConfig{Interfaces: []string{"lo"}, Loopback: true},
		},
	}
}
