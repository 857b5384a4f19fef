package fleet

import "errors"

// Errors of enrollment, renewal and the registry, compared with errors.Is.
// The HTTP handlers map each to a status and a code (see httpError).
var (
	// ErrBadClaim: the claim token is missing, malformed or its signature
	// is not the fleet's.
	ErrBadClaim = errors.New("invalid claim")
	// ErrWrongFleet: the claim was made by another fleet.
	ErrWrongFleet = errors.New("claim of another fleet")
	// ErrClaimExpired: the claim is past its expiry.
	ErrClaimExpired = errors.New("claim expired")
	// ErrClaimSpent: the claim has no use left.
	ErrClaimSpent = errors.New("claim has no use left")
	// ErrClaimUnknown: the claim is signed by this fleet but not in its
	// registry (a registry restored from an older backup).
	ErrClaimUnknown = errors.New("claim unknown to the registry")
	// ErrBadDevice: the device id is not a valid name.
	ErrBadDevice = errors.New("invalid device id")
	// ErrBadCSR: the CSR does not parse, is not ECDSA P-256 or its
	// signature does not verify with its own public key.
	ErrBadCSR = errors.New("invalid csr")
	// ErrCSRMismatch: the CSR's common name is not the device id.
	ErrCSRMismatch = errors.New("csr common name is not the device id")
	// ErrKeyConflict: the device is enrolled with another key and the
	// operator has not readmitted it.
	ErrKeyConflict = errors.New("device enrolled with another key")
	// ErrRevoked: the device is revoked.
	ErrRevoked = errors.New("device revoked")
	// ErrUnknownDevice: no such device in the registry.
	ErrUnknownDevice = errors.New("unknown device")
	// ErrNoCertificate: a renewal came without a valid client certificate
	// of this fleet (none, expired, or not signed by the CA).
	ErrNoCertificate = errors.New("no valid client certificate")
	// ErrTooLarge: the request body is larger than the limit.
	ErrTooLarge = errors.New("request body too large")
	// ErrBadRequest: the request body is not the JSON expected.
	ErrBadRequest = errors.New("invalid request")
)
