// Package sdpfrag reads and writes the ICE part of SDP: the
// application/trickle-ice-sdpfrag bodies of WHIP/WHEP PATCH requests
// (RFC 8840, RFC 9725 §4.3) and the rewrite of a negotiated SDP for an ICE
// restart. The WHIP/WHEP clients, the relay and the test servers share it.
package sdpfrag

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// Frag is the ICE content of an SDP fragment or of a whole SDP
// (RFC 8839 §5).
type Frag struct {
	Ufrag, Pwd string
	Mid        string   // mid of the first media section, where candidates go with BUNDLE
	Media      string   // the first m= line without "m=", e.g. "audio 9 UDP/TLS/RTP/SAVPF 111"
	Candidates []string // candidate attribute values, without "candidate:"
	Lite       bool     // a=ice-lite
	End        bool     // a=end-of-candidates
}

// ErrNoCredentials means a fragment or SDP lacks ice-ufrag or ice-pwd.
var ErrNoCredentials = errors.New("sdpfrag: no ice-ufrag/ice-pwd")

// Parse reads a fragment or an SDP leniently, line by line: the first
// ufrag, pwd, mid and m= line, and every candidate, wherever they appear.
func Parse(s string) Frag {
	var f Frag
	first := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if m, ok := strings.CutPrefix(line, "m="); ok {
			first(&f.Media, m)
			continue
		}
		attr, ok := strings.CutPrefix(line, "a=")
		if !ok {
			continue
		}
		key, v, _ := strings.Cut(attr, ":")
		switch key {
		case "ice-ufrag":
			first(&f.Ufrag, v)
		case "ice-pwd":
			first(&f.Pwd, v)
		case "mid":
			first(&f.Mid, v)
		case "candidate":
			f.Candidates = append(f.Candidates, v)
		case "ice-lite":
			f.Lite = true
		case "end-of-candidates":
			f.End = true
		}
	}
	return f
}

// FromSDP reads the ICE content of a whole SDP, which must parse and carry
// credentials.
func FromSDP(s string) (Frag, error) {
	var d sdp.SessionDescription
	if err := d.Unmarshal([]byte(s)); err != nil {
		return Frag{}, fmt.Errorf("sdpfrag: parse sdp: %w", err)
	}
	f := Parse(s)
	if f.Ufrag == "" || f.Pwd == "" {
		return f, ErrNoCredentials
	}
	return f, nil
}

// String writes f as a fragment (RFC 8840 §4.4, RFC 9725 §4.3.1): the
// credentials, then the media section named by its m= line and mid with
// the candidates, and end-of-candidates when f.End.
func (f Frag) String() string {
	var b strings.Builder
	line := func(s string) { b.WriteString(s); b.WriteString("\r\n") }
	line("a=ice-ufrag:" + f.Ufrag)
	line("a=ice-pwd:" + f.Pwd)
	if f.Media != "" {
		line("m=" + f.Media)
	}
	if f.Mid != "" {
		line("a=mid:" + f.Mid)
	}
	for _, c := range f.Candidates {
		line("a=candidate:" + c)
	}
	if f.End {
		line("a=end-of-candidates")
	}
	return b.String()
}

// Restart returns a negotiated SDP (offer or answer) as it stands after an
// ICE restart with f (RFC 9725 §4.3.2: the rest of the negotiation still
// applies): f's credentials everywhere, the old candidates replaced by f's
// in the first media section, ice-lite as f says.
func Restart(negotiated string, f Frag) (string, error) {
	if f.Ufrag == "" || f.Pwd == "" {
		return "", ErrNoCredentials
	}
	var d sdp.SessionDescription
	if err := d.Unmarshal([]byte(negotiated)); err != nil {
		return "", fmt.Errorf("sdpfrag: parse sdp: %w", err)
	}
	rewrite := func(attrs []sdp.Attribute, withCandidates bool) []sdp.Attribute {
		out := attrs[:0:0]
		for _, a := range attrs {
			switch a.Key {
			case "ice-ufrag":
				a.Value = f.Ufrag
			case "ice-pwd":
				a.Value = f.Pwd
			case "candidate", "end-of-candidates", "ice-lite":
				continue
			}
			out = append(out, a)
		}
		if withCandidates {
			for _, c := range f.Candidates {
				out = append(out, sdp.Attribute{Key: "candidate", Value: c})
			}
			if f.End {
				out = append(out, sdp.Attribute{Key: "end-of-candidates"})
			}
		}
		return out
	}
	d.Attributes = rewrite(d.Attributes, false)
	if f.Lite {
		d.Attributes = append(d.Attributes, sdp.Attribute{Key: "ice-lite"})
	}
	for i, m := range d.MediaDescriptions {
		m.Attributes = rewrite(m.Attributes, i == 0)
	}
	b, err := d.Marshal()
	if err != nil {
		return "", fmt.Errorf("sdpfrag: marshal sdp: %w", err)
	}
	return string(b), nil
}
