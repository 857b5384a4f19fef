package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/onair-dev/onair/fleet"
)

func TestClaimPrintsTokenOfTheFleet(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"--state-dir", dir, "claim", "--uses", "100", "--ttl", "30d", "--group", "lab"}, &out, &errOut); err != nil {
		t.Fatalf("claim: %v\n%s", err, errOut.String())
	}
	s, err := fleet.Open(context.Background(), fleet.Config{StateDir: dir}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id, err := fleet.VerifyClaim(strings.TrimSpace(out.String()), s.CA(), s.Registry().FleetID(), time.Now().Add(29*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Registry().Claim(context.Background(), id)
	if err != nil || c.Uses != 100 || c.Groups[0] != "lab" {
		t.Errorf("claim %+v, %v", c, err)
	}
	var list bytes.Buffer
	if err := run(context.Background(), []string{"--state-dir", dir, "audit"}, &list, io.Discard); err != nil || !strings.Contains(list.String(), "\tclaim\t"+id+"\tok") {
		t.Errorf("audit: %v\n%s", err, list.String())
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--state-dir", dir, "--cert-lifetime", "5s", "devices"}, 78},
		{[]string{"--state-dir", dir, "--nonsense", "devices"}, 64},
		{[]string{"--state-dir", dir, "revoke", "nobody"}, 1},
		{[]string{"--state-dir", dir, "devices"}, 0},
	} {
		err := run(context.Background(), tc.args, io.Discard, io.Discard)
		if got := exitCode(err, io.Discard); got != tc.code {
			t.Errorf("%q: exit %d (%v), want %d", tc.args, got, err, tc.code)
		}
	}
}
