package uplink

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pion/stun/v4"
)

// parseICELinks returns the ICE servers announced by Link header fields with
// rel="ice-server" (RFC 9725 §4.6, link syntax of RFC 8288 §3): one server
// per link, TURN credentials from the username, credential and
// credential-type="password" parameters. Several header fields and
// comma-separated link values are accepted; links that are not ICE servers,
// have an unparsable URI or a credential type other than password are
// skipped.
func parseICELinks(h http.Header) []ICEServer {
	var out []ICEServer
	for _, field := range h.Values("Link") {
		for _, l := range parseLinks(field) {
			if !hasRel(l.params["rel"], "ice-server") {
				continue
			}
			if ct, ok := l.params["credential-type"]; ok && !strings.EqualFold(ct, "password") {
				continue
			}
			if _, err := stun.ParseURI(l.target); err != nil {
				continue
			}
			out = append(out, ICEServer{
				URLs:       []string{l.target},
				Username:   l.params["username"],
				Credential: l.params["credential"],
			})
		}
	}
	return out
}

// hasRel reports whether the space-separated relation types of rel contain
// want (RFC 8288 §3.3).
func hasRel(rel, want string) bool {
	for _, r := range strings.Fields(rel) {
		if strings.EqualFold(r, want) {
			return true
		}
	}
	return false
}

// link is one link-value of a Link header field.
type link struct {
	target string
	params map[string]string // lower-case names; the first occurrence wins
}

// parseLinks splits a Link header field value into its link-values:
// `<uri>; name=value; name="quoted, value", <uri2>; ...` (RFC 8288 §3).
// Malformed input ends parsing; what was parsed so far is returned.
func parseLinks(s string) []link {
	var out []link
	for {
		s = strings.TrimLeft(s, " \t,")
		if !strings.HasPrefix(s, "<") {
			return out
		}
		end := strings.IndexByte(s, '>')
		if end < 0 {
			return out
		}
		l := link{target: strings.TrimSpace(s[1:end]), params: map[string]string{}}
		s = s[end+1:]
		for {
			s = strings.TrimLeft(s, " \t")
			if !strings.HasPrefix(s, ";") {
				break
			}
			var name, value string
			name, value, s = parseLinkParam(s[1:])
			if name == "" {
				continue
			}
			if _, dup := l.params[name]; !dup {
				l.params[name] = value
			}
		}
		out = append(out, l)
		if s = strings.TrimLeft(s, " \t"); !strings.HasPrefix(s, ",") {
			return out
		}
	}
}

// parseLinkParam parses `name[=value]` at the start of s (after the ';') and
// returns the lower-cased name, the unquoted value and the rest of s.
func parseLinkParam(s string) (name, value, rest string) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, "=;,")
	if i < 0 {
		return strings.ToLower(strings.TrimSpace(s)), "", ""
	}
	name = strings.ToLower(strings.TrimSpace(s[:i]))
	if s[i] != '=' {
		return name, "", s[i:]
	}
	s = strings.TrimLeft(s[i+1:], " \t")
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		for j := 1; j < len(s); j++ {
			switch c := s[j]; {
			case c == '\\' && j+1 < len(s):
				j++
				b.WriteByte(s[j])
			case c == '"':
				return name, b.String(), s[j+1:]
			default:
				b.WriteByte(c)
			}
		}
		return name, b.String(), ""
	}
	j := strings.IndexAny(s, ";,")
	if j < 0 {
		return name, strings.TrimSpace(s), ""
	}
	return name, strings.TrimSpace(s[:j]), s[j:]
}

// maxRetryAfterSecs bounds a parsed Retry-After so that it cannot overflow a
// time.Duration; the retry loop caps it further.
const maxRetryAfterSecs = 24 * 60 * 60

// parseRetryAfter parses a Retry-After value (RFC 9110 §10.2.3): delay
// seconds or an HTTP-date. It returns 0 when v is empty, malformed or in the
// past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(min(secs, maxRetryAfterSecs)) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil || !t.After(now) {
		return 0
	}
	return t.Sub(now)
}
