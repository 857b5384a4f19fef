// Package rtctest builds the pion API of the fake peers tests talk to (the
// WHIP/WHEP server of internal/whiptest, the WHEP client of
// internal/wheptest). It registers Opus the way a browser does, written out
// here rather than taken from internal/rtcapi, so that a codec registration
// bug in the code under test cannot hide by being on both sides. Only the
// candidate gathering settings are rtcapi's.
package rtctest

import (
	"fmt"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/onair-dev/onair/internal/rtcapi"
)

// opus is Opus as Chromium offers it: payload type 111, opus/48000/2,
// minptime=10;useinbandfec=1 (RFC 7587 §7).
var opus = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType:    "audio/opus",
		ClockRate:   48000,
		Channels:    2,
		SDPFmtpLine: "minptime=10;useinbandfec=1",
	},
	PayloadType: 111,
}

// NewAPI returns a pion API for a test peer: Opus only, pion's default
// interceptors (RTCP reports, NACK), and the candidate gathering of n
// (rtcapi.SettingEngine).
func NewAPI(n rtcapi.NetworkConfig) (*webrtc.API, error) {
	media := &webrtc.MediaEngine{}
	if err := media.RegisterCodec(opus, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("rtctest: register opus: %w", err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(media, reg); err != nil {
		return nil, fmt.Errorf("rtctest: register interceptors: %w", err)
	}
	return webrtc.NewAPI(
		webrtc.WithSettingEngine(rtcapi.SettingEngine(n)),
		webrtc.WithMediaEngine(media),
		webrtc.WithInterceptorRegistry(reg),
	), nil
}
