package fleet

import (
	"encoding/json"
	"errors"
	"net/http"
)

// ErrorBody is the JSON body of every refusal: {"error":{"code":…,"message":…}}.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// httpErrors maps the package's errors to an HTTP status and an error code.
var httpErrors = []struct {
	err    error
	status int
	code   string
}{
	{ErrTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
	{ErrBadRequest, http.StatusBadRequest, "invalid_request"},
	{ErrBadDevice, http.StatusBadRequest, "invalid_device"},
	{ErrBadCSR, http.StatusBadRequest, "invalid_csr"},
	{ErrCSRMismatch, http.StatusBadRequest, "csr_mismatch"},
	{ErrBadClaim, http.StatusUnauthorized, "invalid_claim"},
	{ErrClaimExpired, http.StatusUnauthorized, "claim_expired"},
	{ErrNoCertificate, http.StatusUnauthorized, "certificate_required"},
	{ErrWrongFleet, http.StatusForbidden, "wrong_fleet"},
	{ErrClaimSpent, http.StatusForbidden, "claim_spent"},
	{ErrClaimUnknown, http.StatusForbidden, "claim_unknown"},
	{ErrRevoked, http.StatusForbidden, "revoked"},
	{ErrUnknownDevice, http.StatusForbidden, "unknown_device"},
	{ErrKeyConflict, http.StatusConflict, "key_conflict"},
}

// writeError answers err as its status and code; an error of none of the
// kinds above is a 500 whose details go to the log only.
func (s *Server) writeError(w http.ResponseWriter, err error) {
	var body ErrorBody
	status := http.StatusInternalServerError
	body.Error.Code, body.Error.Message = "internal", "internal error"
	for _, e := range httpErrors {
		if errors.Is(err, e.err) {
			status, body.Error.Code, body.Error.Message = e.status, e.code, err.Error()
			break
		}
	}
	if status == http.StatusInternalServerError {
		s.log.Error("request failed", "error", err)
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
