package whiptest

import (
	"strings"
)

// frag is the ICE content of an SDP or SDP fragment (RFC 8840).
type frag struct {
	ufrag, pwd string
	mid        string
	candidates []string // without "candidate:"
	end        bool
}

// parseFrag reads the ICE attributes of an SDP or sdpfrag, line by line:
// the first ufrag/pwd/mid and every candidate.
func parseFrag(s string) frag {
	var f frag
	for _, line := range splitLines(s) {
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

// render writes f as an ICE restart answer fragment (RFC 9725 §4.3.2).
func (f frag) render() string {
	var b strings.Builder
	b.WriteString("a=ice-ufrag:" + f.ufrag + "\r\n")
	b.WriteString("a=ice-pwd:" + f.pwd + "\r\n")
	for _, c := range f.candidates {
		b.WriteString("a=candidate:" + c + "\r\n")
	}
	b.WriteString("a=end-of-candidates\r\n")
	return b.String()
}

// rewriteICE returns sdp with every ice-ufrag/ice-pwd replaced by f's, its
// candidates and end-of-candidates removed, and f's candidates added at the
// end of the first media section.
func rewriteICE(sdp string, f frag) string {
	var out []string
	media, inserted := 0, false
	insert := func() {
		for _, c := range f.candidates {
			out = append(out, "a=candidate:"+c)
		}
		inserted = true
	}
	for _, line := range splitLines(sdp) {
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
	return strings.Join(out, "\r\n") + "\r\n"
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			out = append(out, l)
		}
	}
	return out
}
