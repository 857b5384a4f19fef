package uplink

import (
	"slices"

	"github.com/pion/webrtc/v4"

	"github.com/onair-dev/onair/internal/rtcapi"
)

// opusPayloadType is the dynamic RTP payload type onair offers for Opus.
const opusPayloadType = rtcapi.OpusPayloadType

// ICEServer is a STUN or TURN server (RFC 8489, RFC 8656), configured or
// learned from a WHIP or WHEP endpoint's Link header (RFC 9725 §4.6).
type ICEServer = rtcapi.ICEServer

// NetworkConfig selects which local addresses pion gathers ICE candidates
// on (see rtcapi.NetworkConfig).
type NetworkConfig = rtcapi.NetworkConfig

// NewAPI returns the pion API onair's peers share (see rtcapi.NewAPI):
// Opus only, pion's default interceptors, UDP, no multicast DNS, and the
// interfaces of n.
func NewAPI(n NetworkConfig) (*webrtc.API, error) { return rtcapi.NewAPI(n) }

// PionICEServers converts servers to pion's type, with password credentials for TURN.
func PionICEServers(servers []ICEServer) []webrtc.ICEServer {
	return rtcapi.PionICEServers(servers)
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
