package device

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// MaxCommandSize is the largest command payload accepted, in bytes; a
// larger one is refused (invalid_argument) before it is parsed.
const MaxCommandSize = 64 << 10

// Action is what a command asks for.
type Action int

// Actions of the MQTT contract. The zero value is ActionUnknown.
const (
	ActionUnknown    Action = iota
	ActionJoin              // join channel as role (default host)
	ActionLeave             // leave the channel
	ActionSetRole           // switch role while joined
	ActionMute              // send silence, stay in the channel
	ActionUnmute            // send the input again
	ActionSetGain           // set the input gain, gain_db
	ActionRenewToken        // replace the token
	ActionStatus            // reply with the reported state
)

// String returns the action's name in commands ("join", "set_role", …).
func (a Action) String() string {
	switch a {
	case ActionJoin:
		return "join"
	case ActionLeave:
		return "leave"
	case ActionSetRole:
		return "set_role"
	case ActionMute:
		return "mute"
	case ActionUnmute:
		return "unmute"
	case ActionSetGain:
		return "set_gain"
	case ActionRenewToken:
		return "renew_token"
	case ActionStatus:
		return "status"
	case ActionUnknown:
		return "unknown"
	}
	return "unknown(" + strconv.Itoa(int(a)) + ")"
}

// parseAction returns the action named s, ActionUnknown if none.
func parseAction(s string) Action {
	for a := ActionJoin; a <= ActionStatus; a++ {
		if a.String() == s {
			return a
		}
	}
	return ActionUnknown
}

// Command is one validated command of the MQTT contract:
//
//	{"id":"c-17","action":"join","channel":"lobby","role":"host","token":"…",
//	 "uid":"7","gain_db":0,"expires_at":"2026-11-24T10:00:00Z","reply_to":"…"}
//
// An empty string field, like an absent or null one, means "not given".
type Command struct {
	ID        string    // non-empty, at most maxIDLen bytes
	Action    Action    // never ActionUnknown
	Channel   string    // join: required (channel.ValidateName)
	Role      Role      // join: defaults to host; set_role: required
	Token     string    // join: optional; renew_token: required (RFC 6750 b64token)
	UID       string    // join: optional
	GainDB    float64   // set_gain: required, MinGainDB … MaxGainDB
	ExpiresAt time.Time // zero when not given
	ReplyTo   string    // MQTT topic for the reply, "" for the device's reply topic
}

// CommandError is why a command was refused; every error ParseCommand
// returns is one. ID and ReplyTo are what could be read of the command
// (empty when not), so that its reply still reaches the sender.
type CommandError struct {
	ID      string
	ReplyTo string
	Code    Code
	Message string
}

// Error returns "code: message".
func (e *CommandError) Error() string { return string(e.Code) + ": " + e.Message }

// fields lists the fields each action takes besides id, action,
// expires_at and reply_to, the required ones first (required counts them).
func fields(a Action) (names []string, required int) {
	switch a {
	case ActionJoin:
		return []string{"channel", "role", "token", "uid"}, 1
	case ActionSetRole:
		return []string{"role"}, 1
	case ActionSetGain:
		return []string{"gain_db"}, 1
	case ActionRenewToken:
		return []string{"token"}, 1
	}
	return nil, 0
}

// isCommonField reports whether every action takes the field name.
func isCommonField(name string) bool {
	return name == "id" || name == "action" || name == "expires_at" || name == "reply_to"
}

// isKnownField reports whether name is a field of the contract at all.
func isKnownField(name string) bool {
	switch name {
	case "id", "action", "channel", "role", "token", "uid", "gain_db", "expires_at", "reply_to":
		return true
	}
	return false
}

// ParseCommand parses and validates a command payload. It is strict:
// besides malformed values, unknown fields and fields the action does not
// take are refused (invalid_argument), so that a misspelt or misplaced
// field never goes unnoticed. Checks go in this order: size (before
// parsing), UTF-8, JSON syntax and duplicate keys at any depth
// (invalid_json), a JSON object, id, reply_to, unknown fields, action
// (unknown_action), the action's fields.
// The returned error is always a *CommandError. expires_at is parsed but
// not compared with the clock (see Command.Expired).
func ParseCommand(payload []byte) (Command, error) {
	if len(payload) > MaxCommandSize {
		return Command{}, &CommandError{Code: CodeInvalidArgument,
			Message: fmt.Sprintf("command: %d bytes, at most %d", len(payload), MaxCommandSize)}
	}
	if !utf8.Valid(payload) {
		return Command{}, &CommandError{Code: CodeInvalidJSON, Message: "command: not UTF-8"}
	}
	if !json.Valid(payload) {
		return Command{}, &CommandError{Code: CodeInvalidJSON, Message: "command: not JSON"}
	}
	if name, dup := duplicateKey(payload); dup {
		return Command{}, &CommandError{Code: CodeInvalidJSON, Message: fmt.Sprintf("command: duplicate key %q", name)}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(payload, &raw); err != nil || raw == nil {
		return Command{}, &CommandError{Code: CodeInvalidArgument, Message: "command: must be a JSON object"}
	}
	p := parser{raw: raw}
	c, err := p.parse()
	if err != nil {
		return Command{}, &CommandError{ID: p.id, ReplyTo: p.replyTo, Code: err.code, Message: err.msg}
	}
	return c, nil
}

// fieldError is a refusal naming its field.
type fieldError struct {
	code Code
	msg  string
}

func argErr(field, format string, args ...any) *fieldError {
	return &fieldError{CodeInvalidArgument, field + ": " + fmt.Sprintf(format, args...)}
}

// parser reads the fields of one command; id and replyTo are kept once
// valid so that an error reply can carry them.
type parser struct {
	raw     map[string]json.RawMessage
	id      string
	replyTo string
	hasGain bool // gain_db was given
}

func (p *parser) parse() (Command, *fieldError) {
	var c Command
	id, ok, err := p.str("id")
	switch {
	case err != nil:
		return c, err
	case !ok:
		return c, argErr("id", "required")
	case len(id) > maxIDLen:
		return c, argErr("id", "%d bytes, at most %d", len(id), maxIDLen)
	}
	p.id, c.ID = id, id

	if c.ReplyTo, _, err = p.str("reply_to"); err != nil {
		return c, err
	}
	if c.ReplyTo != "" {
		if err := validateReplyTo(c.ReplyTo); err != nil {
			return c, argErr("reply_to", "%v", err)
		}
		p.replyTo = c.ReplyTo
	}

	keys := make([]string, 0, len(p.raw))
	for k := range p.raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !isKnownField(k) {
			return c, argErr(strconv.Quote(k), "unknown field")
		}
	}

	name, ok, err := p.str("action")
	switch {
	case err != nil:
		return c, err
	case !ok:
		return c, argErr("action", "required")
	}
	if c.Action = parseAction(name); c.Action == ActionUnknown {
		return c, &fieldError{CodeUnknownAction, fmt.Sprintf("action: %q is not one of join, leave, set_role, "+
			"mute, unmute, set_gain, renew_token, status", name)}
	}

	allowed, required := fields(c.Action)
	for _, k := range keys {
		if !isCommonField(k) && !slices.Contains(allowed, k) && !isNull(p.raw[k]) {
			return c, argErr(k, "not taken by %s", c.Action)
		}
	}
	if err := p.values(&c); err != nil {
		return c, err
	}
	set := c.fieldsSet()
	set["gain_db"] = p.hasGain
	for _, k := range allowed[:required] {
		if !set[k] {
			return c, argErr(k, "required by %s", c.Action)
		}
	}
	if c.Action == ActionJoin && c.Role == RoleUnknown {
		c.Role = RoleHost
	}
	return c, nil
}

// values reads and checks the fields other than id, action and reply_to.
func (p *parser) values(c *Command) *fieldError {
	var err *fieldError
	if c.Channel, _, err = p.str("channel"); err != nil {
		return err
	}
	if c.Channel != "" {
		if e := validateChannel(c.Channel); e != nil {
			return argErr("channel", "%v", e)
		}
	}
	role, _, err := p.str("role")
	if err != nil {
		return err
	}
	if role != "" {
		if c.Role, _ = ParseRole(role); c.Role == RoleUnknown {
			return argErr("role", "%q: must be host or audience", role)
		}
	}
	if c.Token, _, err = p.str("token"); err != nil {
		return err
	}
	if e := validateToken(c.Token); e != nil {
		return argErr("token", "%v", e)
	}
	if c.UID, _, err = p.str("uid"); err != nil {
		return err
	}
	if e := validateUID(c.UID); e != nil {
		return argErr("uid", "%v", e)
	}
	if v, ok := p.raw["gain_db"]; ok && !isNull(v) {
		if json.Unmarshal(v, &c.GainDB) != nil || !validGain(c.GainDB) {
			return argErr("gain_db", "must be a number from %g to %g", MinGainDB, MaxGainDB)
		}
		p.hasGain = true
	}
	exp, _, err := p.str("expires_at")
	if err != nil {
		return err
	}
	if exp != "" {
		t, e := time.Parse(time.RFC3339, exp)
		if e != nil {
			return argErr("expires_at", "%q: must be an RFC 3339 time", exp)
		}
		c.ExpiresAt = t
	}
	return nil
}

// str reads the string field name: ok is false when it is absent, null
// or empty.
func (p *parser) str(name string) (string, bool, *fieldError) {
	v, present := p.raw[name]
	if !present || isNull(v) {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false, argErr(name, "must be a string")
	}
	return s, s != "", nil
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }
