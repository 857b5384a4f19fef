package control

import "errors"

// Errors of the package, compared with errors.Is.
var (
	// ErrInvalidConfig wraps every configuration error of New and Request;
	// the message names the offending key.
	ErrInvalidConfig = errors.New("control: invalid config")
	// ErrInvalidTopic is returned for a topic name that MQTT does not allow
	// in a PUBLISH (MQTT 3.1.1 §4.7) or that a device may not publish to.
	ErrInvalidTopic = errors.New("control: invalid topic")
	// ErrRunning is returned by Run on a Client that is already running or
	// has run: a Client serves one Run.
	ErrRunning = errors.New("control: client already run")
	// ErrUnauthorized is wrapped in a connection error when the CONNACK
	// refuses the connection for its credentials: return code 4, bad user
	// name or password, or 5, not authorized (MQTT 3.1.1 §3.2.2.3).
	ErrUnauthorized = errors.New("not authorized")
	// ErrTimeout is wrapped in Request's error when no reply arrived in
	// time.
	ErrTimeout = errors.New("no reply before the timeout")
	// ErrInvalidCommand is wrapped in Request's error for a command that is
	// not a JSON object.
	ErrInvalidCommand = errors.New("command is not a JSON object")
)
