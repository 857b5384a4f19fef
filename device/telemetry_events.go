package device

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
