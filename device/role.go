// Package device is the board's device agent: the state the fleet drives
// over MQTT (commands, the desired state, reported state, telemetry and
// events), applied to the board's channel session (package session).
package device

import "github.com/onair-dev/onair/channel"

// Role is the part a board plays in a channel: RoleHost publishes its input
// (WHIP), RoleAudience plays the channel's hosts on its output (WHEP).
type Role = channel.Role

// The roles of a board.
const (
	RoleUnknown  = channel.RoleUnknown
	RoleHost     = channel.RoleHost
	RoleAudience = channel.RoleAudience
)

// ParseRole parses "host" or "audience".
func ParseRole(s string) (Role, error) { return channel.ParseRole(s) }
