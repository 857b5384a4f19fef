package fleet

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestClaimVerifies(t *testing.T) {
	s := newTestServer(t, nil)
	tok := claim(t, s, 3, time.Hour, "lab")
	id, err := VerifyClaim(tok, s.ca, s.reg.FleetID(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.reg.Claim(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Uses != 3 || c.UsesLeft != 3 || len(c.Groups) != 1 || c.Groups[0] != "lab" {
		t.Errorf("claim in the registry: %+v", c)
	}
}

func TestClaimRefused(t *testing.T) {
	s := newTestServer(t, nil)
	other := newTestServer(t, nil)
	tok := claim(t, s, 1, time.Hour)
	parts := strings.Split(tok, ".")
	tampered := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	for _, tc := range []struct {
		name  string
		token string
		now   time.Time
		want  error
	}{
		{"expired", tok, time.Now().Add(2 * time.Hour), ErrClaimExpired},
		{"another fleet", claim(t, other, 1, time.Hour), time.Now(), ErrWrongFleet},
		{"bad signature", tampered, time.Now(), ErrBadClaim},
		{"not a JWT", "hello", time.Now(), ErrBadClaim},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyClaim(tc.token, s.ca, s.reg.FleetID(), tc.now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("VerifyClaim: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewClaimChecksArguments(t *testing.T) {
	s := newTestServer(t, nil)
	for _, tc := range []struct {
		uses   int
		ttl    time.Duration
		groups []string
	}{{0, time.Hour, nil}, {1, 0, nil}, {1, time.Hour, []string{"a/b"}}} {
		if _, _, err := s.NewClaim(t.Context(), tc.uses, tc.ttl, tc.groups, "op"); err == nil {
			t.Errorf("NewClaim(%d, %s, %q) succeeded", tc.uses, tc.ttl, tc.groups)
		}
	}
}

func TestCheckDeviceID(t *testing.T) {
	for _, ok := range []string{"pi-7", "a", "Board_3.lab", strings.Repeat("x", 64)} {
		if err := CheckDeviceID(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a/b", "a+b", "#", "a b", "é", "..", ".", "all", "group", "ctl", strings.Repeat("x", 65)} {
		if err := CheckDeviceID(bad); !errors.Is(err, ErrBadDevice) {
			t.Errorf("%q: %v, want ErrBadDevice", bad, err)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 720 * time.Hour, "2m": 2 * time.Minute, "36h": 36 * time.Hour} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"d", "-1d", "x", "1.5d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
}
