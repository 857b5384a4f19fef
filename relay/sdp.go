package relay

import (
	"net/http"
	"strings"

	"github.com/pion/sdp/v3"
)

// offerInfo is what the relay needs to know of an SDP offer before it
// hands it to pion.
type offerInfo struct {
	audio int    // usable audio sections in the needed direction
	ufrag string // the offer's ICE ufrag (session or first media level)
}

// checkOffer parses an offer and checks that it has an audio section pion
// can answer for a session of kind k: for WHIP one the client sends
// (sendonly or sendrecv, RFC 9725 §4.2), for WHEP one it receives
// (recvonly or sendrecv), offering Opus (RFC 7587) in either case.
func checkOffer(offer string, k kind) (offerInfo, *httpError) {
	var info offerInfo
	if strings.TrimSpace(offer) == "" {
		return info, errorf(http.StatusBadRequest, codeInvalidSDP, "the request has no sdp offer")
	}
	var d sdp.SessionDescription
	if err := d.Unmarshal([]byte(offer)); err != nil {
		return info, errorf(http.StatusBadRequest, codeInvalidSDP, "the sdp offer cannot be parsed: %s", err)
	}
	sessionDir := direction(d.Attributes, "sendrecv")
	if v, ok := d.Attribute("ice-ufrag"); ok {
		info.ufrag = v
	}
	opusSeen, audioSeen := false, false
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "audio" || m.MediaName.Port.Value == 0 {
			continue
		}
		audioSeen = true
		if info.ufrag == "" {
			info.ufrag, _ = m.Attribute("ice-ufrag")
		}
		dir := direction(m.Attributes, sessionDir)
		switch {
		case dir == "sendrecv":
		case k == kindHost && dir == "sendonly":
		case k == kindAudience && dir == "recvonly":
		default:
			continue
		}
		info.audio++
		for _, a := range m.Attributes {
			if a.Key == "rtpmap" && strings.Contains(strings.ToLower(a.Value), " opus/48000") {
				opusSeen = true
			}
		}
	}
	want := "a receive-only (recvonly)"
	if k == kindHost {
		want = "a send-only (sendonly)"
	}
	switch {
	case !audioSeen:
		return info, errorf(http.StatusBadRequest, codeInvalidSDP, "the sdp offer has no audio section")
	case info.audio == 0:
		return info, errorf(http.StatusBadRequest, codeInvalidSDP, "the sdp offer needs %s or sendrecv audio section", want)
	case !opusSeen:
		return info, errorf(http.StatusBadRequest, codeInvalidSDP, "the sdp offer has no opus/48000 audio")
	case info.ufrag == "":
		return info, errorf(http.StatusBadRequest, codeInvalidSDP, "the sdp offer has no ice-ufrag")
	}
	return info, nil
}

// direction returns the direction attribute among attrs, or def.
func direction(attrs []sdp.Attribute, def string) string {
	for _, a := range attrs {
		switch a.Key {
		case "sendrecv", "sendonly", "recvonly", "inactive":
			return a.Key
		}
	}
	return def
}
