package device

import (
	"encoding/json"
	"strconv"
	"time"
)

// State is the device agent's state in its channel, as reported on the
// MQTT state topic (DESIGN.md "The MQTT contract").
type State int

// States of the device agent. The zero value is StateUnknown.
const (
	// StateUnknown is the zero value: the agent has not started.
	StateUnknown State = iota
	// StateIdle: in no channel, no session.
	StateIdle
	// StateJoining: a session for the desired channel and role is starting
	// (or switching role) and has not connected yet.
	StateJoining
	// StateJoined: the session is connected in the desired role.
	StateJoined
	// StateLeaving: the session is being torn down (DELETE) after a leave
	// or at shutdown.
	StateLeaving
	// StateRetrying: the session was lost and is being retried, or it was
	// refused (error code unauthorized) and waits for renew_token;
	// Reported.Error says why.
	StateRetrying
)

// String returns the lower-case name of s, as reported over MQTT.
func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateJoining:
		return "joining"
	case StateJoined:
		return "joined"
	case StateLeaving:
		return "leaving"
	case StateRetrying:
		return "retrying"
	case StateUnknown:
		return "unknown"
	}
	return "unknown(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Code is the error code of a command reply or of Reported.Error.
type Code string

// Error codes of the MQTT contract; no others are sent.
const (
	CodeInvalidJSON     Code = "invalid_json"     // the payload is not JSON (or not UTF-8)
	CodeInvalidArgument Code = "invalid_argument" // a field is missing, of the wrong type, out of range, unknown
	CodeUnknownAction   Code = "unknown_action"   // action is not one of the contract's
	CodeNotJoined       Code = "not_joined"       // the action needs a channel and the device is idle
	CodeExpired         Code = "expired"          // the command arrived after its expires_at
	CodeUnauthorized    Code = "unauthorized"     // the WHIP/WHEP endpoint refused the token (401/403)
	CodeUnavailable     Code = "unavailable"      // not possible now: superseded, shutting down, not connected in time
	CodeInternal        Code = "internal"         // a fault of the device itself
)

// Valid reports whether c is one of the contract's codes.
func (c Code) Valid() bool {
	switch c {
	case CodeInvalidJSON, CodeInvalidArgument, CodeUnknownAction, CodeNotJoined,
		CodeExpired, CodeUnauthorized, CodeUnavailable, CodeInternal:
		return true
	}
	return false
}

// ErrorBody is the error of a reply ({"code":…,"message":…}) and of the
// reported state.
type ErrorBody struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// Reported is the state the agent publishes, retained, on its state topic:
//
//	{"device":D,"state":"joined","channel":"lobby","role":"host","uid":"7",
//	 "muted":false,"publishing":true,"hosts":["…"],"error":null,
//	 "since":"…","version":"…"}
//
// Channel, role and uid are null when idle; hosts is never null.
type Reported struct {
	Device     string
	State      State
	Channel    string // "" when idle
	Role       Role   // RoleUnknown when idle
	UID        string
	Muted      bool
	Publishing bool       // a host whose WHIP session is connected
	Hosts      []string   // the remote hosts received (audience), by stream id
	Error      *ErrorBody // the last error while retrying, nil otherwise
	Since      time.Time  // when State was entered
	Version    string     // the onair version
}

type reportedJSON struct {
	Device     string     `json:"device"`
	State      State      `json:"state"`
	Channel    *string    `json:"channel"`
	Role       *string    `json:"role"`
	UID        *string    `json:"uid"`
	Muted      bool       `json:"muted"`
	Publishing bool       `json:"publishing"`
	Hosts      []string   `json:"hosts"`
	Error      *ErrorBody `json:"error"`
	Since      string     `json:"since"`
	Version    string     `json:"version"`
}

// MarshalJSON encodes r in the contract's form.
func (r Reported) MarshalJSON() ([]byte, error) {
	w := reportedJSON{
		Device: r.Device, State: r.State, Muted: r.Muted, Publishing: r.Publishing,
		Hosts: r.Hosts, Error: r.Error, Version: r.Version,
	}
	if w.Hosts == nil {
		w.Hosts = []string{}
	}
	if r.Channel != "" {
		w.Channel = &r.Channel
		if r.UID != "" {
			w.UID = &r.UID
		}
		if r.Role == RoleHost || r.Role == RoleAudience {
			s := r.Role.String()
			w.Role = &s
		}
	}
	if !r.Since.IsZero() {
		w.Since = r.Since.UTC().Format(time.RFC3339Nano)
	}
	return json.Marshal(w)
}
