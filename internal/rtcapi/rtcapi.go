// Package rtcapi is the WebRTC set-up that onair's peers share: the pion
// API (codecs, interceptors, ICE network selection), the Opus codec
// parameters onair offers and answers, and the ICE server type. The WHIP
// publisher and WHEP subscriber (package uplink, clients) and the relay (a
// server) both build their PeerConnections from it, so neither imports the
// other.
package rtcapi

import (
	"fmt"
	"slices"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"
)

// OpusPayloadType is the dynamic RTP payload type onair offers for Opus.
const OpusPayloadType = 111

// OpusClockRate is the RTP clock rate of Opus (RFC 7587 §4.1).
const OpusClockRate = 48000

// OpusFmtp is the Opus format line for a mono stream (RFC 7587 §6.1):
// 10 ms minimum packet time and in-band FEC.
const OpusFmtp = "minptime=10;useinbandfec=1"

// OpusStereoFmtp is OpusFmtp plus the stereo parameters (RFC 7587 §6.1):
// stereo=1 asks the receiver to decode in stereo and sprop-stereo=1 says the
// sender sends stereo.
const OpusStereoFmtp = OpusFmtp + ";stereo=1;sprop-stereo=1"

// ICEServer is a STUN or TURN server (RFC 8489, RFC 8656), configured or
// learned from a WHIP or WHEP endpoint's Link header (RFC 9725 §4.6).
type ICEServer struct {
	URLs       []string // stun:, stuns:, turn: or turns: URIs (RFC 7064, RFC 7065)
	Username   string   // TURN long-term credential user name; empty for STUN
	Credential string   // TURN long-term credential password; empty for STUN
}

// NetworkConfig selects which local addresses pion gathers ICE candidates on.
type NetworkConfig struct {
	// Interfaces lists the network interface names candidates are gathered
	// on (e.g. "eth0", "wlan0"); empty means every interface.
	Interfaces []string
	// Loopback always gathers candidates on loopback addresses too
	// (tests). Without it they are gathered when the peer is on this
	// machine or no other interface is up (see ForPeer), unless
	// NoLoopback is set.
	Loopback bool
	// NoLoopback never gathers loopback candidates, not even for a peer on
	// this machine (webrtc.loopback: false). Loopback wins over it.
	NoLoopback bool
	// Timeouts are the ICE agent's consent and keepalive timings; zero
	// fields keep pion's defaults.
	Timeouts ICETimeouts
	// IPv6 also gathers UDP candidates on IPv6 addresses; by default only
	// UDP over IPv4 is used.
	IPv6 bool
	// Net, if set, is the network stack pion uses instead of the operating
	// system's (SettingEngine.SetNet): a pion vnet, or a wrapper that drops
	// packets to simulate an outage in tests.
	Net transport.Net
}

// NewAPI returns a pion API configured from n for onair's peers: Opus as the
// only codec, pion's default interceptors (so RTCP Sender and Receiver
// Reports, RFC 3550 §6.4, are generated and NACKs answered), multicast DNS
// candidates disabled, UDP only, and the interface and loopback selection of
// n. The WHIP publisher, the WHEP subscriber and the relay share it.
func NewAPI(n NetworkConfig) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(OpusCodec(1), webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("rtcapi: register opus: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, fmt.Errorf("rtcapi: register interceptors: %w", err)
	}
	return webrtc.NewAPI(
		webrtc.WithSettingEngine(SettingEngine(n)),
		webrtc.WithMediaEngine(me),
		webrtc.WithInterceptorRegistry(ir),
	), nil
}

// SettingEngine returns pion's settings for the candidates of n: UDP over
// IPv4 (and IPv6 if n.IPv6), multicast DNS candidates disabled, only the
// interfaces of n.Interfaces, loopback if n.Loopback, on n.Net if set, with
// the ICE timeouts of n.Timeouts.
func SettingEngine(n NetworkConfig) webrtc.SettingEngine {
	var se webrtc.SettingEngine
	if len(n.Interfaces) > 0 {
		allowed := slices.Clone(n.Interfaces)
		se.SetInterfaceFilter(func(name string) bool { return slices.Contains(allowed, name) })
	}
	se.SetIncludeLoopbackCandidate(n.Loopback)
	if t := n.Timeouts; t != (ICETimeouts{}) {
		se.SetICETimeouts(t.Disconnected, t.Failed, t.Keepalive)
	}
	types := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if n.IPv6 {
		types = append(types, webrtc.NetworkTypeUDP6)
	}
	se.SetNetworkTypes(types)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if n.Net != nil {
		se.SetNet(n.Net)
	}
	return se
}

// OpusCodec returns the Opus codec parameters for a stream of the given
// channel count (RFC 7587 §7: always opus/48000/2 in the SDP, stereo only
// in the format parameters).
func OpusCodec(channels int) webrtc.RTPCodecParameters {
	fmtp := OpusFmtp
	if channels == 2 {
		fmtp = OpusStereoFmtp
	}
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType:    webrtc.MimeTypeOpus,
			ClockRate:   OpusClockRate,
			Channels:    2,
			SDPFmtpLine: fmtp,
		},
		PayloadType: OpusPayloadType,
	}
}

// PionICEServers converts servers to pion's type, with password credentials for TURN.
func PionICEServers(servers []ICEServer) []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, 0, len(servers))
	for _, s := range servers {
		ps := webrtc.ICEServer{URLs: slices.Clone(s.URLs)}
		if s.Username != "" || s.Credential != "" {
			ps.Username = s.Username
			ps.Credential = s.Credential
			ps.CredentialType = webrtc.ICECredentialTypePassword
		}
		out = append(out, ps)
	}
	return out
}
