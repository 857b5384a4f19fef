package uplink

import "errors"

// State is the state of a Publisher's or a Subscriber's session with its
// WHIP or WHEP endpoint.
type State int

// States of a Publisher or a Subscriber. The zero value is StateUnknown.
const (
	// StateUnknown is the zero value: Run has not been called yet.
	StateUnknown State = iota
	// StateConnecting: an offer is being sent or ICE/DTLS are being
	// established.
	StateConnecting
	// StateConnected: the PeerConnection is connected; Publisher.WriteOpus
	// sends, a Subscriber receives.
	StateConnected
	// StateRetrying: the session was lost or could not be set up; Run waits
	// (backoff or Retry-After) before the next attempt. Stats.LastError says
	// why.
	StateRetrying
	// StateUnauthorized: the endpoint answered 401 or 403 (RFC 9725 §4.7);
	// Run returned an error wrapping ErrUnauthorized and waits for a new
	// token (a new Publisher or Subscriber).
	StateUnauthorized
	// StateClosed: Run returned after its context was cancelled and the
	// session was deleted.
	StateClosed
)

var stateNames = [...]string{
	StateUnknown:      "unknown",
	StateConnecting:   "connecting",
	StateConnected:    "connected",
	StateRetrying:     "retrying",
	StateUnauthorized: "unauthorized",
	StateClosed:       "closed",
}

// String returns the lower-case name of s, as reported over MQTT.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "unknown"
	}
	return stateNames[s]
}

// input is what the Run loop observed; next turns it into a State.
type input int

const (
	inAttempt      input = iota + 1 // a session attempt (OPTIONS/POST) starts
	inConnected                     // the PeerConnection reached connected
	inLost                          // the attempt or session ended with an error
	inUnauthorized                  // the endpoint refused the token
	inStopped                       // Run's context was cancelled
)

// classify maps the end of a session attempt to an input: stopped wins, then
// an authorization refusal, then any other loss.
func classify(err error, stopped bool) input {
	switch {
	case stopped:
		return inStopped
	case errors.Is(err, ErrUnauthorized):
		return inUnauthorized
	default:
		return inLost
	}
}

// next is the state machine of Publisher and Subscriber: the state after in,
// given the current state. It has no side effects (client.enter does those).
func next(cur State, in input) State {
	switch in {
	case inStopped:
		return StateClosed
	case inUnauthorized:
		return StateUnauthorized
	case inLost:
		return StateRetrying
	case inAttempt:
		return StateConnecting
	case inConnected:
		if cur == StateConnecting || cur == StateConnected {
			return StateConnected
		}
	}
	return cur
}
