package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConfigErrorsExit78: a bad configuration stops onair before it does
// anything, with exit status 78 (EX_CONFIG) and the key named.
func TestConfigErrorsExit78(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file string
		env        []string
		args       []string
		key        string
	}{
		{name: "unknown key", file: "opus:\n  bitrat: 32000\n", key: "opus.bitrat"},
		{name: "bad value", file: "audio:\n  frame_ms: 25\n", key: "audio.frame_ms"},
		{name: "wrong type", file: "opus:\n  fec: \"maybe\"\n", key: "opus.fec"},
		{name: "wrong type in env", env: []string{"ONAIR_OPUS_BITRATE=high"}, key: "opus.bitrate"},
		{name: "unknown env", env: []string{"ONAIR_AUDIO_INPT=tone:440"}, key: "ONAIR_AUDIO_INPT"},
		{name: "bad flag value", args: []string{"--channel", "no/slash"}, key: "uplink.channel"},
		{name: "missing file", args: []string{"--config", "/nonexistent/onair.yaml"}, key: "/nonexistent/onair.yaml"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"publish", "--input", "tone:440"}, c.args...)
			if c.file != "" {
				p := filepath.Join(t.TempDir(), "config.yaml")
				if err := os.WriteFile(p, []byte(c.file), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", p)
			}
			cmd := exec.Command(onairBin, args...)
			cmd.Env = append(os.Environ(), c.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("onair did not exit on a bad configuration")
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 78 {
				t.Fatalf("exit = %v, want status 78; stderr:\n%s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), c.key) {
				t.Errorf("stderr does not name %q:\n%s", c.key, stderr.String())
			}
		})
	}
}

// TestUnknownFlagIsUsageError: a mistyped flag is a usage error (64), not
// a configuration error.
func TestUnknownFlagIsUsageError(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(onairBin, "publish", "--chanel", "x").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 64 {
		t.Fatalf("exit = %v, want 64; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), "chanel") {
		t.Errorf("output does not name the flag:\n%s", out)
	}
}

// TestRelayRefusesWithoutSecret: `onair relay` without a token secret and
// without allow_anonymous exits 78 naming relay.token_secret; `onair token`
// without a secret likewise.
func TestRelayRefusesWithoutSecret(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"relay", "--listen", "127.0.0.1:0"}, {"token", "--channel", "c", "--uid", "u"}} {
		cmd := exec.Command(onairBin, args...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 78 {
			t.Fatalf("onair %s: exit %v, want 78\n%s", args[0], err, out)
		}
		if !strings.Contains(string(out), "relay.token_secret") {
			t.Errorf("onair %s does not name relay.token_secret:\n%s", args[0], out)
		}
	}
}

// TestTokenCommand: `onair token` prints a JWT the relay accepts: three
// base64url parts; a bad role is a usage error.
func TestTokenCommand(t *testing.T) {
	t.Parallel()
	env := append(os.Environ(), "ONAIR_RELAY_TOKEN_SECRET=0123456789abcdef0123")
	cmd := exec.Command(onairBin, "token", "--channel", "lobby", "--uid", "7", "--role", "audience", "--ttl", "1h")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if parts := strings.Split(strings.TrimSpace(string(out)), "."); len(parts) != 3 {
		t.Errorf("token %q is not a JWT", out)
	}
	cmd = exec.Command(onairBin, "token", "--channel", "lobby", "--uid", "7", "--role", "dj")
	cmd.Env = env
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 64 {
		t.Errorf("bad role: exit %v, want 64", err)
	}
}
