package relay

import (
	"net/http"
	"strings"

	"github.com/pion/sdp/v3"
)

// Bounds of what an offer may make the relay do. pion makes a transceiver
// for every media section and keeps every candidate, so an offer with
// thousands of either costs the relay megabytes; the bounds leave room for
// what a browser offers.
const (
	// maxAttributes bounds the a= lines of an offer, its sections' and the
	// session's together (a browser's audio section has about 30).
	maxAttributes = 1024
	// maxCandidates bounds the distinct ICE candidates of a session per
	// ICE generation: those of its offer plus those trickled by PATCH.
	maxCandidates = 50
)

// offerInfo is what the relay needs to know of an SDP offer before it
// hands it to pion.
type offerInfo struct {
	audio      int    // usable audio sections in the needed direction
	ufrag      string // the offer's ICE ufrag (session or first media level)
	candidates int    // distinct a=candidate values
}

// checkOffer parses an offer and checks that it has an audio section pion
// can answer for a session of kind k: for WHIP one the client sends
// (sendonly or sendrecv, RFC 9725 §4.2), for WHEP one it receives
// (recvonly or sendrecv), offering Opus (RFC 7587) in either case. It
// refuses, before parsing, an offer of more media sections than
// maxSections(slots) or more than maxAttributes attributes, and one of
// more than maxCandidates candidates.
func checkOffer(offer string, k kind, slots int) (offerInfo, *httpError) {
	var info offerInfo
	if strings.TrimSpace(offer) == "" {
		return info, errorf(http.StatusBadRequest, codeInvalidSDP, "the request has no sdp offer")
	}
	if herr := checkOfferSize(offer, k, slots); herr != nil {
		return info, herr
	}
	var d sdp.SessionDescription
	if err := d.Unmarshal([]byte(offer)); err != nil {
		return info, errorf(http.StatusBadRequest, codeInvalidSDP, "the sdp offer cannot be parsed: %s", err)
	}
	info.candidates = countCandidates(d)
	if info.candidates > maxCandidates {
		return info, errorf(http.StatusBadRequest, codeInvalidSDP,
			"the sdp offer has %d ice candidates; the relay takes at most %d", info.candidates, maxCandidates)
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

// maxSections is the most media sections an offer may have with slots
// audience slots: one per slot, or DefaultAudienceSlots, what clients
// offer without knowing the relay (the listen page, Config.AudienceSlots
// of another relay), if more. An audience receives at most one host per
// slot, a host sends one audio track.
func maxSections(slots int) int { return max(slots, DefaultAudienceSlots) }

// checkOfferSize counts the offer's media sections and attributes, line
// by line, without parsing it.
func checkOfferSize(offer string, k kind, slots int) *httpError {
	sections, audio, attrs := 0, 0, 0
	for line := range strings.Lines(offer) {
		switch {
		case strings.HasPrefix(line, "m="):
			sections++
			if strings.HasPrefix(line, "m=audio ") {
				audio++
			}
		case strings.HasPrefix(line, "a="):
			attrs++
		}
	}
	if n := maxSections(slots); sections > n {
		if k == kindAudience {
			return errorf(http.StatusBadRequest, codeInvalidSDP,
				"the sdp offer has %d media sections (%d audio); this relay serves at most %d hosts per channel, one audio section each, and answers at most %d sections",
				sections, audio, slots, n)
		}
		return errorf(http.StatusBadRequest, codeInvalidSDP,
			"the sdp offer has %d media sections (%d audio); a host publishes one audio section, and the relay answers at most %d",
			sections, audio, n)
	}
	if attrs > maxAttributes {
		return errorf(http.StatusBadRequest, codeInvalidSDP,
			"the sdp offer has %d attributes; the relay takes at most %d", attrs, maxAttributes)
	}
	return nil
}

// countCandidates counts the distinct candidates of a parsed offer, at
// session and media level.
func countCandidates(d sdp.SessionDescription) int {
	seen := map[string]struct{}{}
	add := func(attrs []sdp.Attribute) {
		for _, a := range attrs {
			if a.Key == "candidate" {
				seen[a.Value] = struct{}{}
			}
		}
	}
	add(d.Attributes)
	for _, m := range d.MediaDescriptions {
		add(m.Attributes)
	}
	return len(seen)
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
