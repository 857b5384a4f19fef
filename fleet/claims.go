package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// claimAudience is the audience of every claim token: they open /enroll
// and nothing else.
const claimAudience = "onair-enroll"

// ClaimToken is what a claim token says (JWT, RFC 7519). It is signed
// ES256 (RFC 7518 §3.4) with the CA's key rather than HS256 with a secret:
// the fleet then has one secret to guard and back up, not two; a copy of
// the registry does not let anyone mint claims; and anyone holding the CA
// certificate can check a claim. The key signs a JWT's ASCII signing
// input and DER certificates, which no input can be both.
type ClaimToken struct {
	jwt.RegisteredClaims
	// Groups are the groups of every device enrolled with the claim.
	Groups []string `json:"groups,omitempty"`
	// CASHA256 is the SHA-256 of the CA certificate (hex): a board that
	// holds nothing but the claim pins the fleet server's CA with it.
	CASHA256 string `json:"ca_sha256"`
}

// NewClaim makes a claim with uses uses, valid for ttl from now, for
// devices of groups, records it as made by who, and returns its token.
func NewClaim(ctx context.Context, reg *Registry, ca *CA, uses int, ttl time.Duration, groups []string, who string, now time.Time) (string, Claim, error) {
	if uses < 1 {
		return "", Claim{}, fmt.Errorf("claim: uses %d: must be at least 1", uses)
	}
	if ttl <= 0 {
		return "", Claim{}, fmt.Errorf("claim: ttl %s: must be positive", ttl)
	}
	for _, g := range groups {
		if err := CheckName(g); err != nil {
			return "", Claim{}, fmt.Errorf("claim: group %q: %w", g, err)
		}
	}
	id, err := randomID("c-")
	if err != nil {
		return "", Claim{}, fmt.Errorf("claim: %w", err)
	}
	c := Claim{ID: id, Uses: uses, UsesLeft: uses, ExpiresAt: now.Add(ttl).Truncate(time.Second), Groups: groups}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, ClaimToken{
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        c.ID,
			Issuer:    reg.FleetID(),
			Audience:  jwt.ClaimStrings{claimAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
		},
		Groups:   groups,
		CASHA256: ca.CAFingerprint(),
	})
	s, err := tok.SignedString(ca.Signer())
	if err != nil {
		return "", Claim{}, fmt.Errorf("claim: sign: %w", err)
	}
	if err := reg.AddClaim(ctx, c, who, now); err != nil {
		return "", Claim{}, fmt.Errorf("claim: %w", err)
	}
	return s, c, nil
}

// VerifyClaim checks a claim token's fleet, signature, audience and expiry
// at now and returns the claim's id. Its errors wrap ErrWrongFleet,
// ErrClaimExpired or ErrBadClaim. Uses left are the registry's to check.
func VerifyClaim(token string, ca *CA, fleetID string, now time.Time) (string, error) {
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}),
		jwt.WithAudience(claimAudience),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	// The issuer first, unverified, only to say so when the claim is of
	// another fleet: its signature would not verify either.
	var c ClaimToken
	if _, _, err := p.ParseUnverified(token, &c); err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadClaim, err)
	}
	if c.Issuer != fleetID {
		return "", fmt.Errorf("%w: issued by %q, this is %q", ErrWrongFleet, c.Issuer, fleetID)
	}
	c = ClaimToken{}
	_, err := p.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return ca.Cert.PublicKey, nil })
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "", ErrClaimExpired
	case err != nil:
		return "", fmt.Errorf("%w: %w", ErrBadClaim, err)
	case c.ID == "":
		return "", fmt.Errorf("%w: no id", ErrBadClaim)
	}
	return c.ID, nil
}

// CheckName checks a device id or group name: 1 to 64 letters (ASCII),
// digits, '-', '_' or '.', not "." or "..". Such a name is safe in an MQTT
// topic level, a Mosquitto ACL line and a certificate's common name.
func CheckName(s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("%w: %q: must be 1 to 64 characters", ErrBadDevice, s)
	}
	if s == "." || s == ".." {
		return fmt.Errorf("%w: %q", ErrBadDevice, s)
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Errorf("%w: %q: only letters, digits, '-', '_' and '.'", ErrBadDevice, s)
		}
	}
	return nil
}

// reservedIDs are topic levels of the MQTT contract under P that are not
// devices: a device of that name would write P/all/cmd.
var reservedIDs = map[string]bool{"all": true, "group": true, "ctl": true}

// CheckDeviceID checks a device id: a name (CheckName) that is not one of
// the contract's own topic levels (all, group, ctl).
func CheckDeviceID(id string) error {
	if err := CheckName(id); err != nil {
		return err
	}
	if reservedIDs[id] {
		return fmt.Errorf("%w: %q is a reserved topic level", ErrBadDevice, id)
	}
	return nil
}
