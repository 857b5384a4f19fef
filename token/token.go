// Package token mints and verifies the relay's access tokens: HS256 JSON Web
// Tokens (RFC 7519, signed as in RFC 7515 with HMAC-SHA256) whose claims say
// which channel the bearer may join, under which uid and in which role, and
// until when. They are carried as Bearer tokens of WHIP and WHEP requests
// (RFC 9725 §4.5), as Agora tokens are.
package token

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/onair-dev/onair/channel"
)

// Algorithm is the only signing algorithm minted and accepted (RFC 7518
// §3.2). Tokens with any other "alg", "none" included, are refused.
const Algorithm = "HS256"

// MinSecretLen is the shortest secret Mint and Verify accept, in bytes.
// RFC 7518 §3.2 asks for a key at least as long as the hash output (32
// bytes); shorter secrets are allowed down to this floor so that
// passphrases work, but they are weaker.
const MinSecretLen = 16

// MaxUIDLen is the longest uid a token may carry, in bytes.
const MaxUIDLen = 255

// MaxTokenLen is the longest token Verify reads, in bytes; a token of
// Mint is a few hundred.
const MaxTokenLen = 4 << 10

// IssuedAtLeeway is how far in the future an "iat" may be, for clocks a
// little ahead of the verifier's. jwt's own check (jwt.WithIssuedAt)
// would share jwt.WithLeeway with "exp", which has none.
const IssuedAtLeeway = time.Minute

// Errors returned by Verify and Mint, wrapped with details; compare with
// errors.Is.
var (
	// ErrMalformed means the token is not a well-formed JWT: not three
	// base64url parts, or a header or claims that are not JSON.
	ErrMalformed = errors.New("token: malformed")
	// ErrBadSignature means the signature does not verify with the secret,
	// or the token is signed with an algorithm other than HS256 ("none",
	// RS256, …).
	ErrBadSignature = errors.New("token: bad signature")
	// ErrExpired means the token's "exp" is in the past.
	ErrExpired = errors.New("token: expired")
	// ErrNotYetValid means the token's "nbf" is in the future, or its
	// "iat" more than IssuedAtLeeway.
	ErrNotYetValid = errors.New("token: not valid yet")
	// ErrInvalidClaims means a claim is missing or wrong: no "exp", an
	// "exp", "iat" or "nbf" that is not a JSON number, no or an invalid
	// channel name, no uid, a role other than host or audience.
	ErrInvalidClaims = errors.New("token: invalid claims")
	// ErrSecret means the secret is shorter than MinSecretLen.
	ErrSecret = errors.New("token: secret too short")
)

// Claims is what a token grants.
type Claims struct {
	// Channel is the channel the token is for (channel.ValidateName).
	Channel string
	// UID identifies the user in the channel: a number or a string of at
	// most MaxUIDLen bytes (a JSON number in the token is read as its
	// decimal text).
	UID string
	// Role is host (publish and subscribe) or audience (subscribe only).
	Role Role
	// IssuedAt is the "iat" claim; Mint sets it to the current time when
	// it is zero.
	IssuedAt time.Time
	// ExpiresAt is the "exp" claim. Mint sets it to IssuedAt + ttl.
	ExpiresAt time.Time
}

// validate checks the claims' own fields (not the times).
func (c Claims) validate() error {
	if err := channel.ValidateName(c.Channel); err != nil {
		return fmt.Errorf("%w: channel: %w", ErrInvalidClaims, err)
	}
	if c.UID == "" {
		return fmt.Errorf("%w: uid: empty", ErrInvalidClaims)
	}
	if len(c.UID) > MaxUIDLen {
		return fmt.Errorf("%w: uid: %d bytes, at most %d", ErrInvalidClaims, len(c.UID), MaxUIDLen)
	}
	if c.Role != RoleHost && c.Role != RoleAudience {
		return fmt.Errorf("%w: role: must be host or audience", ErrInvalidClaims)
	}
	return nil
}

// wireClaims is the JSON form of Claims.
type wireClaims struct {
	Channel string   `json:"channel"`
	UID     uidClaim `json:"uid"`
	Role    string   `json:"role"`
	jwt.RegisteredClaims
}

// uidClaim is a uid that may be written as a JSON string or number.
type uidClaim string

// UnmarshalJSON accepts a string or a number.
func (u *uidClaim) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*u = uidClaim(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("uid must be a string or a number")
	}
	*u = uidClaim(n.String())
	return nil
}

// Mint returns a token for c, valid for ttl from c.IssuedAt (now when zero),
// signed with secret.
func Mint(secret []byte, c Claims, ttl time.Duration) (string, error) {
	if len(secret) < MinSecretLen {
		return "", fmt.Errorf("%w: %d bytes, at least %d", ErrSecret, len(secret), MinSecretLen)
	}
	if err := c.validate(); err != nil {
		return "", err
	}
	if ttl <= 0 {
		return "", fmt.Errorf("%w: ttl %s: must be positive", ErrInvalidClaims, ttl)
	}
	iat := c.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	w := wireClaims{
		Channel: c.Channel,
		UID:     uidClaim(c.UID),
		Role:    c.Role.String(),
		RegisteredClaims: jwt.RegisteredClaims{
			IssuedAt:  jwt.NewNumericDate(iat),
			ExpiresAt: jwt.NewNumericDate(iat.Add(ttl)),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, w).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return s, nil
}

// Verify checks tok's signature with secret and its times against the
// current clock (no leeway, but IssuedAtLeeway for "iat"), and returns its
// claims. Only HS256 is accepted; "exp", channel, uid and role are
// required; a token longer than MaxTokenLen is refused unread.
func Verify(secret []byte, tok string) (Claims, error) {
	if len(secret) < MinSecretLen {
		return Claims{}, fmt.Errorf("%w: %d bytes, at least %d", ErrSecret, len(secret), MinSecretLen)
	}
	if len(tok) > MaxTokenLen {
		return Claims{}, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(tok), MaxTokenLen)
	}
	var w wireClaims
	_, err := jwt.ParseWithClaims(tok, &w, func(t *jwt.Token) (any, error) {
		if t.Method == nil || t.Method.Alg() != Algorithm {
			return nil, fmt.Errorf("%w: algorithm %v, only %s is accepted", ErrBadSignature, t.Header["alg"], Algorithm)
		}
		return secret, nil
	},
		jwt.WithValidMethods([]string{Algorithm}),
		jwt.WithExpirationRequired(),
	)
	if err != nil {
		return Claims{}, classify(err)
	}
	if err := numericDates(tok); err != nil {
		return Claims{}, err
	}
	if w.IssuedAt != nil && w.IssuedAt.After(time.Now().Add(IssuedAtLeeway)) {
		return Claims{}, fmt.Errorf("%w: iat %s is in the future", ErrNotYetValid, w.IssuedAt.UTC().Format(time.RFC3339))
	}
	role, err := ParseRole(w.Role)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidClaims, err)
	}
	c := Claims{Channel: w.Channel, UID: string(w.UID), Role: role}
	if w.IssuedAt != nil {
		c.IssuedAt = w.IssuedAt.Time
	}
	if w.ExpiresAt != nil {
		c.ExpiresAt = w.ExpiresAt.Time
	}
	if err := c.validate(); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// maxExp bounds the "exp" Expiry accepts, in seconds since 1970 (about the
// year 36812): beyond it the claim is nonsense, not a time.
const maxExp = 1 << 40

// Expiry returns the "exp" claim (RFC 7519 §4.1.4) of the JWT raw, read
// without verifying the token's signature: it is for the holder of a token
// (a device warning that its token will expire), never for deciding
// access, which is Verify's. The error wraps ErrMalformed when raw is not
// a JWT, or ErrInvalidClaims when it has no exp that is a positive time.
func Expiry(raw string) (time.Time, error) {
	var rc jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &rc); err != nil {
		return time.Time{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if rc.ExpiresAt == nil {
		return time.Time{}, fmt.Errorf("%w: no exp", ErrInvalidClaims)
	}
	if sec := rc.ExpiresAt.Unix(); sec <= 0 || sec > maxExp {
		return time.Time{}, fmt.Errorf("%w: exp %d: not a time", ErrInvalidClaims, sec)
	}
	return rc.ExpiresAt.Time, nil
}

// numericDates checks that the "exp", "iat" and "nbf" of a verified token
// are JSON numbers (RFC 7519 §2 NumericDate): jwt also reads a string of
// digits as one.
func numericDates(tok string) error {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return fmt.Errorf("%w: %d parts", ErrMalformed, len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return fmt.Errorf("%w: claims: %w", ErrMalformed, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(payload, &raw); err != nil {
		return fmt.Errorf("%w: claims: %w", ErrMalformed, err)
	}
	for _, k := range []string{"exp", "iat", "nbf"} {
		v, ok := raw[k]
		if !ok {
			continue
		}
		var n json.Number
		if len(v) == 0 || v[0] == '"' || json.Unmarshal(v, &n) != nil {
			return fmt.Errorf("%w: %s: %s is not a number", ErrInvalidClaims, k, v)
		}
	}
	return nil
}

// classify maps the jwt library's errors to this package's sentinels.
func classify(err error) error {
	switch {
	case errors.Is(err, ErrBadSignature):
		return err
	case errors.Is(err, jwt.ErrTokenMalformed):
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return fmt.Errorf("%w: %w", ErrExpired, err)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return fmt.Errorf("%w: %w", ErrNotYetValid, err)
	default:
		return fmt.Errorf("%w: %w", ErrInvalidClaims, err)
	}
}

// Role is what a token allows in its channel: channel.RoleHost publishes
// (WHIP) and subscribes (WHEP), channel.RoleAudience only subscribes.
type Role = channel.Role

// The roles a token can carry.
const (
	RoleUnknown  = channel.RoleUnknown
	RoleHost     = channel.RoleHost
	RoleAudience = channel.RoleAudience
)

// ParseRole parses "host" or "audience".
func ParseRole(s string) (Role, error) { return channel.ParseRole(s) }
