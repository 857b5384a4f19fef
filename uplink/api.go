package uplink

import (
	"fmt"
	"slices"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"
)

// opusPayloadType is the dynamic RTP payload type onair offers for Opus.
const opusPayloadType = 111

// opusFmtp is the Opus format line for a mono stream (RFC 7587 §6.1):
// 10 ms minimum packet time and in-band FEC.
const opusFmtp = "minptime=10;useinbandfec=1"

// opusStereoFmtp is opusFmtp plus the stereo parameters (RFC 7587 §6.1):
// stereo=1 asks the receiver to decode in stereo and sprop-stereo=1 says the
// sender sends stereo.
const opusStereoFmtp = opusFmtp + ";stereo=1;sprop-stereo=1"

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
	// Loopback also gathers candidates on loopback addresses (tests, a relay
	// on the same board).
	Loopback bool
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
	var se webrtc.SettingEngine
	if len(n.Interfaces) > 0 {
		allowed := slices.Clone(n.Interfaces)
		se.SetInterfaceFilter(func(name string) bool { return slices.Contains(allowed, name) })
	}
	se.SetIncludeLoopbackCandidate(n.Loopback)
	types := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if n.IPv6 {
		types = append(types, webrtc.NetworkTypeUDP6)
	}
	se.SetNetworkTypes(types)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if n.Net != nil {
		se.SetNet(n.Net)
	}

	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(opusCodec(1), webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("uplink: register opus: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, fmt.Errorf("uplink: register interceptors: %w", err)
	}
	return webrtc.NewAPI(
		webrtc.WithSettingEngine(se),
		webrtc.WithMediaEngine(me),
		webrtc.WithInterceptorRegistry(ir),
	), nil
}

// opusCodec returns the Opus codec parameters for a stream of the given
// channel count (RFC 7587 §7: always opus/48000/2 in the SDP).
func opusCodec(channels int) webrtc.RTPCodecParameters {
	fmtp := opusFmtp
	if channels == 2 {
		fmtp = opusStereoFmtp
	}
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType:    webrtc.MimeTypeOpus,
			ClockRate:   48000,
			Channels:    2,
			SDPFmtpLine: fmtp,
		},
		PayloadType: opusPayloadType,
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

// mergeICEServers returns base followed by the servers of extra whose URLs
// are not already in base, and whether extra added any.
func mergeICEServers(base, extra []ICEServer) ([]ICEServer, bool) {
	seen := map[string]bool{}
	for _, s := range base {
		for _, u := range s.URLs {
			seen[u] = true
		}
	}
	out := slices.Clone(base)
	added := false
	for _, s := range extra {
		var urls []string
		for _, u := range s.URLs {
			if !seen[u] {
				seen[u] = true
				urls = append(urls, u)
			}
		}
		if len(urls) > 0 {
			s.URLs = urls
			out = append(out, s)
			added = true
		}
	}
	return out, added
}
