// Package device is the board's side of a channel: the role it plays
// (host or audience), switched live, and, with the device agent, the state
// the fleet drives over MQTT.
package device

import "fmt"

// Role is the part a board plays in a channel.
type Role int

// Roles. The zero value is RoleUnknown.
const (
	RoleUnknown Role = iota
	// RoleHost publishes the board's input (WHIP).
	RoleHost
	// RoleAudience plays the channel's hosts on the board's output (WHEP).
	RoleAudience
)

func (r Role) String() string {
	switch r {
	case RoleHost:
		return "host"
	case RoleAudience:
		return "audience"
	}
	return "unknown"
}

// ParseRole parses "host" or "audience".
func ParseRole(s string) (Role, error) {
	switch s {
	case "host":
		return RoleHost, nil
	case "audience":
		return RoleAudience, nil
	}
	return RoleUnknown, fmt.Errorf("role %q: must be host or audience", s)
}
