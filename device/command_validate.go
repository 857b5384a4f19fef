package device

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Validate checks what ParseCommand guarantees of a Command; a parsed
// command always validates.
func (c Command) Validate() error {
	switch {
	case c.ID == "" || len(c.ID) > maxIDLen:
		return errors.New("command: bad id")
	case c.Action <= ActionUnknown || c.Action > ActionStatus:
		return fmt.Errorf("command: bad action %s", c.Action)
	case c.ReplyTo != "" && validateReplyTo(c.ReplyTo) != nil:
		return errors.New("command: bad reply_to")
	}
	allowed, required := fields(c.Action)
	set := c.fieldsSet()
	for name, isSet := range set {
		if isSet && !slices.Contains(allowed, name) {
			return fmt.Errorf("command: %s not taken by %s", name, c.Action)
		}
	}
	for _, name := range allowed[:required] {
		if !set[name] {
			return fmt.Errorf("command: %s required by %s", name, c.Action)
		}
	}
	if c.Channel != "" && validateChannel(c.Channel) != nil {
		return errors.New("command: bad channel")
	}
	if c.Role != RoleUnknown && c.Role != RoleHost && c.Role != RoleAudience {
		return errors.New("command: bad role")
	}
	if c.Action == ActionJoin && c.Role == RoleUnknown {
		return errors.New("command: join without a role")
	}
	if validateToken(c.Token) != nil || validateUID(c.UID) != nil || !validGain(c.GainDB) {
		return errors.New("command: bad token, uid or gain_db")
	}
	return nil
}

// fieldsSet says which of the action-specific fields c carries; gain_db
// counts as set in a set_gain command (where it was required).
func (c Command) fieldsSet() map[string]bool {
	return map[string]bool{"channel": c.Channel != "", "role": c.Role != RoleUnknown,
		"token": c.Token != "", "uid": c.UID != "", "gain_db": c.Action == ActionSetGain}
}

// Expired reports whether the command's expires_at has passed at now.
func (c Command) Expired(now time.Time) bool {
	return !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt)
}

type commandJSON struct {
	ID        string   `json:"id"`
	Action    string   `json:"action"`
	Channel   string   `json:"channel,omitempty"`
	Role      string   `json:"role,omitempty"`
	Token     string   `json:"token,omitempty"`
	UID       string   `json:"uid,omitempty"`
	GainDB    *float64 `json:"gain_db,omitempty"`
	ExpiresAt string   `json:"expires_at,omitempty"`
	ReplyTo   string   `json:"reply_to,omitempty"`
}

// MarshalJSON encodes c in the contract's form, with only the fields set;
// ParseCommand gives c back.
func (c Command) MarshalJSON() ([]byte, error) {
	w := commandJSON{ID: c.ID, Action: c.Action.String(), Channel: c.Channel,
		Token: c.Token, UID: c.UID, ReplyTo: c.ReplyTo}
	if c.Role != RoleUnknown {
		w.Role = c.Role.String()
	}
	if c.Action == ActionSetGain {
		w.GainDB = &c.GainDB
	}
	if !c.ExpiresAt.IsZero() {
		w.ExpiresAt = c.ExpiresAt.Format(time.RFC3339Nano)
	}
	return json.Marshal(w)
}
