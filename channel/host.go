package channel

import (
	"fmt"
	"strings"
)

// HostStreamPrefix begins the media stream id (the msid of RFC 8830 §2)
// under which the onair relay sends a host's track, and the RTCP SDES
// CNAME (RFC 3550 §6.5.1) with which it announces a slot's new host; the
// rest is the host's uid (see HostStreamID).
const HostStreamPrefix = "onair-host-"

// HostStreamID returns the stream id of the host uid: HostStreamPrefix and
// the uid, in which every byte that is not an SDP token-char (RFC 4566 §9)
// and every '%' is percent-encoded, so that it fits an msid-id.
func HostStreamID(uid string) string {
	var b strings.Builder
	b.WriteString(HostStreamPrefix)
	for i := 0; i < len(uid); i++ {
		if c := uid[i]; tokenChar(c) && c != '%' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// ParseHostStreamID returns the uid of a stream id made by HostStreamID;
// ok is false for any other stream id.
func ParseHostStreamID(id string) (uid string, ok bool) {
	rest, ok := strings.CutPrefix(id, HostStreamPrefix)
	if !ok || rest == "" {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c == '%' && i+2 < len(rest) && isHex(rest[i+1]) && isHex(rest[i+2]):
			b.WriteByte(unhex(rest[i+1])<<4 | unhex(rest[i+2]))
			i += 2
		case c == '%' || !tokenChar(c):
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// tokenChar reports whether c is a token-char of RFC 4566 §9.
func tokenChar(c byte) bool {
	switch {
	case c == '!', c >= '#' && c <= '\'', c == '*', c == '+', c == '-', c == '.',
		c >= '0' && c <= '9', c >= 'A' && c <= 'Z', c >= '^' && c <= '~':
		return true
	}
	return false
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f' }

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
