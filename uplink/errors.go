package uplink

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Errors reported by a Publisher or a Subscriber. Run returns only
// ErrUnauthorized-wrapping errors and ErrAlreadyRunning; the others reach
// OnState with StateRetrying and are retried.
var (
	// ErrUnauthorized means the WHIP or WHEP endpoint refused the token with
	// 401 or 403 (RFC 9725 §4.7). It is not retried: a new token is needed.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrAlreadyRunning is returned by Run when another Run of the same
	// Publisher or Subscriber has not returned yet.
	ErrAlreadyRunning = errors.New("uplink: already running")
	// ErrSessionLost means an established session ended: the far end closed
	// the PeerConnection, or ICE or DTLS failed and could not be restarted.
	ErrSessionLost = errors.New("session lost")
	// ErrBadAnswer means the endpoint's SDP answer (or ICE restart sdpfrag)
	// could not be applied.
	ErrBadAnswer = errors.New("bad answer")
	// ErrNoCandidates means ICE gathering found no local candidate: no
	// interface that NetworkConfig allows is up (or only loopback, which
	// NetworkConfig left out). No offer is sent; the attempt is retried.
	ErrNoCandidates = errors.New("ICE: no local candidates on any interface")
	// ErrICEFailed means ICE failed before the session ever connected: no
	// candidate pair answered its connectivity checks (RFC 8445 §7.2.5).
	// The attempt is retried.
	ErrICEFailed = errors.New("ICE failed")
)

// errPatchNotAllowed means the session resource does not allow PATCH (it
// answered 405 or 501, RFC 9725 §4.3.1), so no trickle and no ICE restart.
var errPatchNotAllowed = errors.New("patch not allowed by the server")

// statusError is an unexpected HTTP status from the endpoint or session.
type statusError struct {
	Code       int
	RetryAfter time.Duration // from a 503's, 429's or 409's Retry-After, 0 if none
	Body       string        // start of the response body, for the log
}

// Error describes the status, with the start of the body.
func (e *statusError) Error() string {
	msg := fmt.Sprintf("http status %d %s", e.Code, strings.ToLower(http.StatusText(e.Code)))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Is makes 401 and 403 match ErrUnauthorized (RFC 9725 §4.7).
func (e *statusError) Is(target error) bool {
	return target == ErrUnauthorized &&
		(e.Code == http.StatusUnauthorized || e.Code == http.StatusForbidden)
}

// retryAfter returns the Retry-After carried by err, if any.
func retryAfter(err error) time.Duration {
	var se *statusError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	return 0
}
