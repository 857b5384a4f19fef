package uplink

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// iceParams are the ICE attributes of one side (RFC 8839 §5).
type iceParams struct {
	ufrag, pwd string
	mid        string   // mid of the first media section, where candidates go with BUNDLE
	candidates []string // candidate attribute values, without "candidate:"
	lite       bool     // a=ice-lite
	end        bool     // a=end-of-candidates
}

// iceFromSDP extracts the ICE attributes of a full SDP (session or first
// media level for ufrag/pwd; candidates of every media section).
func iceFromSDP(s string) (iceParams, error) {
	var d sdp.SessionDescription
	if err := d.Unmarshal([]byte(s)); err != nil {
		return iceParams{}, fmt.Errorf("parse sdp: %w", err)
	}
	var p iceParams
	collect := func(attrs []sdp.Attribute) {
		for _, a := range attrs {
			switch a.Key {
			case "ice-ufrag":
				if p.ufrag == "" {
					p.ufrag = a.Value
				}
			case "ice-pwd":
				if p.pwd == "" {
					p.pwd = a.Value
				}
			case "ice-lite":
				p.lite = true
			case "end-of-candidates":
				p.end = true
			case "candidate":
				p.candidates = append(p.candidates, a.Value)
			case "mid":
				if p.mid == "" {
					p.mid = a.Value
				}
			}
		}
	}
	collect(d.Attributes)
	for _, m := range d.MediaDescriptions {
		collect(m.Attributes)
	}
	if p.ufrag == "" || p.pwd == "" {
		return p, errors.New("sdp without ice-ufrag/ice-pwd")
	}
	return p, nil
}

// parseSDPFrag parses an application/trickle-ice-sdpfrag body (RFC 8840 §9)
// leniently: ICE attributes are taken wherever they appear.
func parseSDPFrag(frag string) iceParams {
	var p iceParams
	sc := bufio.NewScanner(strings.NewReader(frag))
	for sc.Scan() {
		attr, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "a=")
		if !ok {
			continue
		}
		key, val, _ := strings.Cut(attr, ":")
		switch key {
		case "ice-ufrag":
			p.ufrag = val
		case "ice-pwd":
			p.pwd = val
		case "ice-lite":
			p.lite = true
		case "end-of-candidates":
			p.end = true
		case "candidate":
			p.candidates = append(p.candidates, val)
		case "mid":
			if p.mid == "" {
				p.mid = val
			}
		}
	}
	return p
}

// sdpFrag renders p as an SDP fragment (RFC 8840 §4.4, RFC 9725 §4.3.1):
// the ICE credentials, then a media section named by its mid carrying the
// candidates, and end-of-candidates when gathering is complete.
func sdpFrag(p iceParams) string {
	var b strings.Builder
	line := func(s string) { b.WriteString(s); b.WriteString("\r\n") }
	line("a=ice-ufrag:" + p.ufrag)
	line("a=ice-pwd:" + p.pwd)
	line("m=audio 9 UDP/TLS/RTP/SAVPF 111")
	if p.mid != "" {
		line("a=mid:" + p.mid)
	}
	for _, c := range p.candidates {
		line("a=candidate:" + c)
	}
	if p.end {
		line("a=end-of-candidates")
	}
	return b.String()
}

// restartedAnswer rewrites the previous SDP answer with the remote ICE
// parameters of an ICE restart (RFC 9725 §4.3.2: the rest of the negotiated
// SDP still applies): new ufrag and pwd everywhere, the old candidates
// replaced by the new ones in the first media section.
func restartedAnswer(answer string, p iceParams) (string, error) {
	var d sdp.SessionDescription
	if err := d.Unmarshal([]byte(answer)); err != nil {
		return "", fmt.Errorf("parse previous answer: %w", err)
	}
	if p.ufrag == "" || p.pwd == "" {
		return "", errors.New("sdpfrag without ice-ufrag/ice-pwd")
	}
	rewrite := func(attrs []sdp.Attribute, withCandidates bool) []sdp.Attribute {
		out := attrs[:0:0]
		for _, a := range attrs {
			switch a.Key {
			case "ice-ufrag":
				a.Value = p.ufrag
			case "ice-pwd":
				a.Value = p.pwd
			case "candidate", "end-of-candidates", "ice-lite":
				continue
			}
			out = append(out, a)
		}
		if withCandidates {
			for _, c := range p.candidates {
				out = append(out, sdp.Attribute{Key: "candidate", Value: c})
			}
			if p.end {
				out = append(out, sdp.Attribute{Key: "end-of-candidates"})
			}
		}
		return out
	}
	d.Attributes = rewrite(d.Attributes, false)
	if p.lite {
		d.Attributes = append(d.Attributes, sdp.Attribute{Key: "ice-lite"})
	}
	for i, m := range d.MediaDescriptions {
		m.Attributes = rewrite(m.Attributes, i == 0)
	}
	b, err := d.Marshal()
	if err != nil {
		return "", fmt.Errorf("marshal answer: %w", err)
	}
	return string(b), nil
}

// candidateValue returns a candidate string without its "candidate:" prefix,
// the form used in SDP attribute values.
func candidateValue(c string) string {
	return strings.TrimPrefix(strings.TrimPrefix(c, "a="), "candidate:")
}
