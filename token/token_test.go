package token

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestMintVerifyRoundTrip(t *testing.T) {
	for _, role := range []Role{RoleHost, RoleAudience} {
		tok, err := Mint(secret, Claims{Channel: "lobby", UID: "7", Role: role}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Verify(secret, tok)
		if err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		if c.Channel != "lobby" || c.UID != "7" || c.Role != role {
			t.Errorf("claims %+v", c)
		}
		if d := time.Until(c.ExpiresAt); d < 59*time.Minute || d > time.Hour {
			t.Errorf("expires in %s, want ~1h", d)
		}
		if c.ExpiresAt.Sub(c.IssuedAt) != time.Hour {
			t.Errorf("iat %s exp %s", c.IssuedAt, c.ExpiresAt)
		}
	}
}

func TestClaimsOnTheWire(t *testing.T) {
	tok, err := Mint(secret, Claims{Channel: "a b", UID: "u1", Role: RoleAudience}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	body, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var h map[string]any
	var m map[string]any
	if err := json.Unmarshal(hdr, &h); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if h["alg"] != "HS256" || h["typ"] != "JWT" {
		t.Errorf("header %v", h)
	}
	for _, k := range []string{"channel", "uid", "role", "exp", "iat"} {
		if _, ok := m[k]; !ok {
			t.Errorf("claim %q missing in %v", k, m)
		}
	}
	if m["role"] != "audience" || m["channel"] != "a b" {
		t.Errorf("claims %v", m)
	}
}

// sign signs arbitrary claims with method and key, for tokens Mint would
// not make.
func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyRefuses(t *testing.T) {
	good := jwt.MapClaims{"channel": "lobby", "uid": "7", "role": "host", "exp": time.Now().Add(time.Hour).Unix()}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	valid := sign(t, jwt.SigningMethodHS256, secret, good)
	expired, err := Mint(secret, Claims{Channel: "lobby", UID: "7", Role: RoleHost, IssuedAt: time.Now().Add(-2 * time.Hour)}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		tok  string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"garbage", "not.a.jwt", ErrMalformed},
		{"two parts", "abc.def", ErrMalformed},
		{"other secret", sign(t, jwt.SigningMethodHS256, []byte("another secret, 32 bytes long..."), good), ErrBadSignature},
		{"tampered", valid[:len(valid)-2] + "xx", ErrBadSignature},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good), ErrBadSignature},
		{"alg RS256", sign(t, jwt.SigningMethodRS256, rsaKey, good), ErrBadSignature},
		{"alg HS512", sign(t, jwt.SigningMethodHS512, secret, good), ErrBadSignature},
		{"expired", expired, ErrExpired},
		{"not yet valid", sign(t, jwt.SigningMethodHS256, secret, with("nbf", time.Now().Add(time.Hour).Unix())), ErrNotYetValid},
		{"no exp", sign(t, jwt.SigningMethodHS256, secret, with("exp", nil)), ErrInvalidClaims},
		{"no channel", sign(t, jwt.SigningMethodHS256, secret, with("channel", nil)), ErrInvalidClaims},
		{"bad channel", sign(t, jwt.SigningMethodHS256, secret, with("channel", "a/b")), ErrInvalidClaims},
		{"no uid", sign(t, jwt.SigningMethodHS256, secret, with("uid", nil)), ErrInvalidClaims},
		{"uid object", sign(t, jwt.SigningMethodHS256, secret, with("uid", map[string]any{"x": 1})), ErrMalformed},
		{"bad role", sign(t, jwt.SigningMethodHS256, secret, with("role", "admin")), ErrInvalidClaims},
		{"no role", sign(t, jwt.SigningMethodHS256, secret, with("role", nil)), ErrInvalidClaims},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(secret, tc.tok)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
			if err.Error() != strings.ToLower(err.Error()[:1])+err.Error()[1:] {
				t.Errorf("message %q does not start lowercase", err)
			}
		})
	}
	if _, err := Verify(secret, valid); err != nil {
		t.Fatalf("the unmodified token: %v", err)
	}
}

// unsignedJWT returns a JWT with the claims given and a signature that
// verifies with no key.
func unsignedJWT(claims string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(claims)) + ".c2ln"
}

func TestExpiry(t *testing.T) {
	if exp, err := Expiry(unsignedJWT(`{"exp":1790000000,"uid":"7"}`)); err != nil || exp.Unix() != 1790000000 {
		t.Errorf("exp %v %v, want 1790000000", exp, err)
	}
	minted, err := Mint(secret, Claims{Channel: "lobby", UID: "7", Role: RoleHost, IssuedAt: time.Unix(1700000000, 0)}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if exp, err := Expiry(minted); err != nil || exp.Unix() != 1700003600 {
		t.Errorf("minted token: exp %v %v, want 1700003600", exp, err)
	}
	for _, tc := range []struct {
		tok  string
		want error
	}{
		{"", ErrMalformed},
		{"opaque", ErrMalformed},
		{"a.b", ErrMalformed},
		{"a.!!!.c", ErrMalformed},
		{unsignedJWT(`{"exp":"soon"}`), ErrMalformed},
		{unsignedJWT(`{"uid":"7"}`), ErrInvalidClaims},
		{unsignedJWT(`{"exp":-1}`), ErrInvalidClaims},
		{unsignedJWT(`{"exp":0}`), ErrInvalidClaims},
		{unsignedJWT(`{"exp":1e300}`), ErrInvalidClaims},
	} {
		if exp, err := Expiry(tc.tok); !errors.Is(err, tc.want) {
			t.Errorf("Expiry(%q) = %v, %v; want an error wrapping %v", tc.tok, exp, err, tc.want)
		}
	}
}

func TestNumericUID(t *testing.T) {
	tok := sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{
		"channel": "lobby", "uid": 12345, "role": "audience", "exp": time.Now().Add(time.Minute).Unix(),
	})
	c, err := Verify(secret, tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.UID != "12345" {
		t.Errorf("uid %q", c.UID)
	}
}

func TestMintRefuses(t *testing.T) {
	ok := Claims{Channel: "lobby", UID: "7", Role: RoleHost}
	for _, tc := range []struct {
		name   string
		secret []byte
		c      Claims
		ttl    time.Duration
		want   error
	}{
		{"short secret", []byte("short"), ok, time.Hour, ErrSecret},
		{"no channel", secret, Claims{UID: "7", Role: RoleHost}, time.Hour, ErrInvalidClaims},
		{"bad channel", secret, Claims{Channel: "é", UID: "7", Role: RoleHost}, time.Hour, ErrInvalidClaims},
		{"no uid", secret, Claims{Channel: "lobby", Role: RoleHost}, time.Hour, ErrInvalidClaims},
		{"long uid", secret, Claims{Channel: "lobby", UID: strings.Repeat("u", MaxUIDLen+1), Role: RoleHost}, time.Hour, ErrInvalidClaims},
		{"no role", secret, Claims{Channel: "lobby", UID: "7"}, time.Hour, ErrInvalidClaims},
		{"zero ttl", secret, ok, 0, ErrInvalidClaims},
	} {
		if _, err := Mint(tc.secret, tc.c, tc.ttl); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := Verify([]byte("short"), "x.y.z"); !errors.Is(err, ErrSecret) {
		t.Errorf("Verify with a short secret: %v", err)
	}
}

func TestRole(t *testing.T) {
	for _, r := range []Role{RoleHost, RoleAudience} {
		b, err := r.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Role
		if err := back.UnmarshalText(b); err != nil || back != r {
			t.Errorf("%s: round trip %s, %v", r, back, err)
		}
	}
	if RoleUnknown.String() != "unknown(0)" {
		t.Errorf("zero role is %q", RoleUnknown)
	}
	if _, err := RoleUnknown.MarshalText(); err == nil {
		t.Error("marshalled the unknown role")
	}
	if _, err := ParseRole("Host"); err == nil {
		t.Error("parsed Host")
	}
}
