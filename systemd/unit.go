// Package systemd runs onair as a systemd service: the unit file, the
// sd_notify(3) protocol (readiness, status, reloading, the watchdog) and
// `onair install`, which sets a bare binary up as a service.
package systemd

import _ "embed" // the unit file

// Unit is systemd/onair.service, the unit the .deb packages ship in
// /lib/systemd/system and Install writes to /etc/systemd/system. It is
// shared: callers must not modify it.
//
//go:embed onair.service
var Unit []byte

// UnitName is the name of the service.
const UnitName = "onair.service"

// Where the unit's ExecStart= expects the binary and the configuration.
const (
	DefaultBin    = "/usr/bin/onair"
	DefaultConfig = "/etc/onair/config.yaml"
)

// Service account: the unit's User= and Group=, and the group that owns
// the sound devices (SupplementaryGroups=).
const (
	ServiceUser = "onair"
	AudioGroup  = "audio"
)
