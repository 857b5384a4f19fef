package relay

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Errors of the relay, wrapped with details; compare with errors.Is.
var (
	// ErrNoSecret is returned by New when Config.TokenSecret is empty and
	// Config.AllowAnonymous is not set.
	ErrNoSecret = errors.New("relay: no token secret and anonymous access not allowed")
	// ErrClosed is returned by Run and Serve after Close.
	ErrClosed = errors.New("relay: closed")
)

// Error codes of the JSON error bodies ({"error":{"code":…,"message":…}}).
const (
	codeBadRequest       = "bad_request"            // 400: malformed request
	codeInvalidSDP       = "invalid_sdp"            // 400: the offer or fragment cannot be used
	codeInvalidChannel   = "invalid_channel"        // 400: channel name breaks the naming rule
	codeUnauthorized     = "unauthorized"           // 401: no, malformed, badly signed or expired token
	codeForbidden        = "forbidden"              // 403: valid token, other channel or role
	codeNotFound         = "not_found"              // 404
	codeMethodNotAllowed = "method_not_allowed"     // 405
	codeTooLarge         = "too_large"              // 413
	codeUnsupportedType  = "unsupported_media_type" // 415
	codePrecondition     = "precondition_failed"    // 412, 428
	codeUnprocessable    = "unprocessable"          // 422
	codeUnavailable      = "unavailable"            // 503: limits reached or shutting down
	codeInternal         = "internal"               // 500
)

// retryAfterSeconds is the Retry-After of a 503 (RFC 9110 §10.2.3,
// RFC 9725 §4.7).
const retryAfterSeconds = 5

// httpError is a failed request: the status, a code for machines and a
// lowercase message for people.
type httpError struct {
	status  int
	code    string
	message string
	header  http.Header // extra header fields (Allow, WWW-Authenticate, Retry-After)
}

// Error implements error.
func (e *httpError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message)
}

// errorf returns an httpError.
func errorf(status int, code, format string, args ...any) *httpError {
	return &httpError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// with adds a header field to e and returns it.
func (e *httpError) with(key, value string) *httpError {
	if e.header == nil {
		e.header = http.Header{}
	}
	e.header.Add(key, value)
	return e
}

// unavailable is a 503 with Retry-After.
func unavailable(format string, args ...any) *httpError {
	return errorf(http.StatusServiceUnavailable, codeUnavailable, format, args...).
		with("Retry-After", strconv.Itoa(retryAfterSeconds))
}

// methodNotAllowed is a 405 listing the allowed methods (RFC 9110 §15.5.6).
func methodNotAllowed(method, allow string) *httpError {
	return errorf(http.StatusMethodNotAllowed, codeMethodNotAllowed, "method %s not allowed; allowed: %s", method, allow).
		with("Allow", allow)
}

// errorBody is the JSON body of every 4xx and 5xx answer.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers with err: an *httpError as it is, anything else as a
// 500 whose details stay in the log.
func writeError(w http.ResponseWriter, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		he = errorf(http.StatusInternalServerError, codeInternal, "internal error")
	}
	for k, vs := range he.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	var body errorBody
	body.Error.Code = he.code
	body.Error.Message = he.message
	writeJSON(w, he.status, body)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"cannot encode the answer"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
