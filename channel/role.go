package channel

import (
	"fmt"
	"strconv"
)

// Role is the part a member plays in a channel, as in Agora's live
// broadcasting: a token grants it, a board plays it.
type Role int

// Roles. The zero value is RoleUnknown, which no valid token or board has.
const (
	RoleUnknown  Role = iota
	RoleHost          // publish (WHIP) and subscribe (WHEP)
	RoleAudience      // subscribe (WHEP) only
)

// String returns "host", "audience" or "unknown(N)".
func (r Role) String() string {
	switch r {
	case RoleHost:
		return "host"
	case RoleAudience:
		return "audience"
	default:
		return "unknown(" + strconv.Itoa(int(r)) + ")"
	}
}

// ParseRole parses "host" or "audience".
func ParseRole(s string) (Role, error) {
	switch s {
	case "host":
		return RoleHost, nil
	case "audience":
		return RoleAudience, nil
	default:
		return RoleUnknown, fmt.Errorf("role %q: must be host or audience", s)
	}
}

// MarshalText implements encoding.TextMarshaler.
func (r Role) MarshalText() ([]byte, error) {
	if r != RoleHost && r != RoleAudience {
		return nil, fmt.Errorf("channel: marshal role %s", r)
	}
	return []byte(r.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err != nil {
		return fmt.Errorf("channel: %w", err)
	}
	*r = v
	return nil
}
