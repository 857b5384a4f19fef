// Package channel holds the rules for channel names and uids shared by the
// uplink, the relay and the device agent.
package channel

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// MaxNameLen is the longest channel name in bytes, as Agora allows.
const MaxNameLen = 64

// nameSpecials are the punctuation characters Agora allows in a channel
// name besides letters, digits and space.
const nameSpecials = "!#$%&()+-:;<=.>?@[]^_{|}~,"

// ErrInvalidName is wrapped by every channel name error.
var ErrInvalidName = errors.New("invalid channel name")

// ValidateName reports whether name is a valid channel name: 1–64 bytes of
// ASCII letters, digits, space and !#$%&()+-:;<=.>?@[]^_{|}~, (Agora's rule),
// except "." and "..", which cannot travel as a URL path segment.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrInvalidName)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidName, len(name), MaxNameLen)
	}
	if name == "." || name == ".." {
		return fmt.Errorf("%w: %q cannot be a URL path segment", ErrInvalidName, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == ' ' || strings.IndexByte(nameSpecials, c) >= 0
		if !ok {
			return fmt.Errorf("%w: character %q at byte %d is not allowed", ErrInvalidName, c, i)
		}
	}
	return nil
}

// ExpandURL substitutes the channel name and uid for "{channel}" and
// "{uid}" in an endpoint template, escaped for where they stand: as a path
// segment before the "?", as a query value after it.
func ExpandURL(template, name, uid string) string {
	path, query, hasQuery := strings.Cut(template, "?")
	out := strings.NewReplacer("{channel}", url.PathEscape(name), "{uid}", url.PathEscape(uid)).Replace(path)
	if hasQuery {
		out += "?" + strings.NewReplacer("{channel}", url.QueryEscape(name), "{uid}", url.QueryEscape(uid)).Replace(query)
	}
	return out
}
