package device

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// eventMsg is one message of the events topic: {"event":…,"ts":…} and,
// per event, uid (stream-added, stream-removed), state and role
// (connection-state), code and message (error; message also for
// mic-lost and connection-state), expires_at (token-will-expire).
type eventMsg struct {
	Event     string `json:"event"`
	UID       string `json:"uid,omitempty"`
	State     string `json:"state,omitempty"`
	Role      string `json:"role,omitempty"`
	Code      Code   `json:"code,omitempty"`
	Message   string `json:"message,omitempty"`
	ExpiresAt string `json:"expires_at,omitempty"`
	TS        string `json:"ts"`
}

// tokenExpiry returns the exp claim of a JWT (RFC 7519 §4.1.4), read
// without verifying the token: it only times token-will-expire.
func tokenExpiry(tok string) (time.Time, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *float64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == nil || *claims.Exp <= 0 || *claims.Exp > 1<<40 {
		return time.Time{}, false
	}
	sec := int64(*claims.Exp)
	return time.Unix(sec, 0), true
}
