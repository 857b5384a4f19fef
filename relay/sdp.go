package relay

import (
	"fmt"
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

// iceFrag is the ICE content of an SDP fragment (RFC 8840 §9) or of a
// full SDP.
type iceFrag struct {
	ufrag, pwd string
	mid        string   // mid of the first media section
	media      string   // the first m= line, without "m="
	candidates []string // candidate attribute values, without "candidate:"
	end        bool     // a=end-of-candidates
}

// parseFrag reads the ICE attributes of an application/trickle-ice-sdpfrag
// body or an SDP, leniently: the first ufrag, pwd, mid and m= line, and
// every candidate, wherever they appear.
func parseFrag(s string) iceFrag {
	var f iceFrag
	for _, line := range sdpLines(s) {
		if m, ok := strings.CutPrefix(line, "m="); ok {
			if f.media == "" {
				f.media = m
			}
			continue
		}
		val, ok := strings.CutPrefix(line, "a=")
		if !ok {
			continue
		}
		key, v, _ := strings.Cut(val, ":")
		switch key {
		case "ice-ufrag":
			if f.ufrag == "" {
				f.ufrag = v
			}
		case "ice-pwd":
			if f.pwd == "" {
				f.pwd = v
			}
		case "mid":
			if f.mid == "" {
				f.mid = v
			}
		case "candidate":
			f.candidates = append(f.candidates, v)
		case "end-of-candidates":
			f.end = true
		}
	}
	return f
}

// render writes f as the body of an ICE restart answer (RFC 9725 §4.3.2,
// RFC 8840 §4.4): the new credentials, then the first media section by its
// mid with the candidates and end-of-candidates.
func (f iceFrag) render() string {
	var b strings.Builder
	line := func(s string) { b.WriteString(s); b.WriteString("\r\n") }
	line("a=ice-ufrag:" + f.ufrag)
	line("a=ice-pwd:" + f.pwd)
	if f.media != "" {
		line("m=" + f.media)
	}
	if f.mid != "" {
		line("a=mid:" + f.mid)
	}
	for _, c := range f.candidates {
		line("a=candidate:" + c)
	}
	line("a=end-of-candidates")
	return b.String()
}

// restartOffer returns offer with the ICE credentials of f everywhere, its
// candidates and end-of-candidates dropped, and f's candidates added to the
// first media section: the offer the client would have made for its ICE
// restart (RFC 9725 §4.3.2: the rest of the negotiation still applies).
func restartOffer(offer string, f iceFrag) (string, error) {
	if f.ufrag == "" || f.pwd == "" {
		return "", fmt.Errorf("ice restart fragment without ice-ufrag and ice-pwd")
	}
	var out []string
	media, inserted := 0, false
	insert := func() {
		for _, c := range f.candidates {
			out = append(out, "a=candidate:"+c)
		}
		if f.end {
			out = append(out, "a=end-of-candidates")
		}
		inserted = true
	}
	for _, line := range sdpLines(offer) {
		switch {
		case strings.HasPrefix(line, "m="):
			media++
			if media == 2 && !inserted {
				insert()
			}
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			line = "a=ice-ufrag:" + f.ufrag
		case strings.HasPrefix(line, "a=ice-pwd:"):
			line = "a=ice-pwd:" + f.pwd
		case strings.HasPrefix(line, "a=candidate:"), line == "a=end-of-candidates":
			continue
		}
		out = append(out, line)
	}
	if !inserted {
		insert()
	}
	return strings.Join(out, "\r\n") + "\r\n", nil
}

// sdpLines splits an SDP or fragment into its non-empty lines.
func sdpLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
