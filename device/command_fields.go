package device

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/onair-dev/onair/channel"
	"github.com/onair-dev/onair/token"
)

// Limits of command fields.
const (
	// MinGainDB and MaxGainDB bound set_gain's gain_db, as audio.gain_db.
	MinGainDB = -60.0
	MaxGainDB = 40.0
	// maxIDLen bounds a command id, which every reply echoes.
	maxIDLen = 256
	// maxTokenLen bounds a token, which goes into an HTTP header.
	maxTokenLen = 8 << 10
	// maxTopicLen is the longest MQTT topic name (MQTT 3.1.1 §1.5.3).
	maxTopicLen = 65535
)

// validGain reports whether db is a gain the input accepts.
func validGain(db float64) bool { return !math.IsNaN(db) && db >= MinGainDB && db <= MaxGainDB }

func validateChannel(name string) error { return channel.ValidateName(name) }

// validateUID checks a uid as the relay does: the characters of a channel
// name, at most token.MaxUIDLen bytes; "" (not given) passes.
func validateUID(uid string) error {
	if len(uid) > token.MaxUIDLen {
		return fmt.Errorf("%d bytes, at most %d", len(uid), token.MaxUIDLen)
	}
	for rest := uid; rest != ""; {
		n := min(len(rest), channel.MaxNameLen)
		if err := channel.ValidateName(rest[:n]); err != nil {
			return errors.New("must be letters, digits, space or !#$%&()+-:;<=.>?@[]^_{|}~,")
		}
		rest = rest[n:]
	}
	return nil
}

// validateToken checks a Bearer token against the b64token syntax of
// RFC 6750 §2.1, which also keeps it from breaking the Authorization
// header; "" (not given) passes.
func validateToken(tok string) error {
	if len(tok) > maxTokenLen {
		return fmt.Errorf("%d bytes, at most %d", len(tok), maxTokenLen)
	}
	body := strings.TrimRight(tok, "=")
	if tok != "" && body == "" {
		return errors.New("must be an RFC 6750 b64token")
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("-._~+/", c) >= 0
		if !ok {
			return errors.New("must be an RFC 6750 b64token")
		}
	}
	return nil
}

// validateReplyTo checks reply_to as a topic a reply can be published to
// (MQTT 3.1.1 §4.7): non-empty UTF-8 of at most 65535 bytes, no wildcard
// (+, #), no NUL or other control character, and not a $ topic (brokers
// reserve those).
func validateReplyTo(topic string) error {
	switch {
	case topic == "":
		return errors.New("empty")
	case len(topic) > maxTopicLen:
		return fmt.Errorf("%d bytes, at most %d", len(topic), maxTopicLen)
	case !utf8.ValidString(topic):
		return errors.New("not UTF-8")
	case strings.ContainsAny(topic, "+#"):
		return errors.New("wildcards (+, #) are not allowed")
	case strings.HasPrefix(topic, "$"):
		return errors.New("$ topics are reserved")
	}
	for _, r := range topic {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return errors.New("control characters are not allowed")
		}
	}
	return nil
}
