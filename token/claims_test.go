package token

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestVerifyClaimBounds: a token issued in the future (beyond
// IssuedAtLeeway), time claims that are not JSON numbers and tokens over
// MaxTokenLen are refused; a clock a little ahead is tolerated.
func TestVerifyClaimBounds(t *testing.T) {
	now := time.Now()
	exp := now.Add(time.Hour).Unix()
	claims := func(extra jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{"channel": "lobby", "uid": "7", "role": "host", "exp": exp}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	hs := func(extra jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, secret, claims(extra)) }
	for _, tc := range []struct {
		name string
		tok  string
		want error // nil: accepted
	}{
		{"iat now", hs(jwt.MapClaims{"iat": now.Unix()}), nil},
		{"iat within the leeway", hs(jwt.MapClaims{"iat": now.Add(IssuedAtLeeway / 2).Unix()}), nil},
		{"iat an hour ahead", hs(jwt.MapClaims{"iat": now.Add(time.Hour).Unix()}), ErrNotYetValid},
		{"iat a year ahead", hs(jwt.MapClaims{"iat": now.AddDate(1, 0, 0).Unix()}), ErrNotYetValid},
		{"exp a string of digits", hs(jwt.MapClaims{"exp": "99999999999"}), ErrInvalidClaims},
		{"exp a word", hs(jwt.MapClaims{"exp": "tomorrow"}), ErrMalformed},
		{"exp true", hs(jwt.MapClaims{"exp": true}), ErrMalformed},
		{"exp an object", hs(jwt.MapClaims{"exp": map[string]any{"t": exp}}), ErrMalformed},
		{"iat a string", hs(jwt.MapClaims{"iat": "1700000000"}), ErrInvalidClaims},
		{"nbf a string", hs(jwt.MapClaims{"nbf": "1700000000"}), ErrInvalidClaims},
		{"exp fractional", hs(jwt.MapClaims{"exp": float64(exp) + 0.5}), nil},
		{"at the length bound", padded(t, MaxTokenLen, claims(nil)), nil},
		{"over the length bound", padded(t, MaxTokenLen+1, claims(nil)), ErrMalformed},
		{"a megabyte", strings.Repeat("a", 1<<20), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(secret, tc.tok)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want it accepted", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
		})
	}
}

// padded returns a valid HS256 token of exactly n bytes, its claims
// padded with an extra claim.
func padded(t *testing.T, n int, c jwt.MapClaims) string {
	t.Helper()
	c["pad"] = ""
	base := len(sign(t, jwt.SigningMethodHS256, secret, c))
	// Each 3 bytes of claims are 4 of base64; aim at n, then adjust.
	pad := (n - base) * 3 / 4
	for range 8 {
		c["pad"] = strings.Repeat("x", max(pad, 0))
		tok := sign(t, jwt.SigningMethodHS256, secret, c)
		switch {
		case len(tok) == n:
			return tok
		case len(tok) < n:
			pad++
		default:
			pad--
		}
	}
	t.Fatalf("cannot pad a token to %d bytes", n)
	return ""
}
