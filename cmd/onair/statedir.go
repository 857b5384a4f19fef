package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/onair-dev/onair/config"
)

// stateDir returns the directory for state that survives power loss:
// device.state_dir, else systemd's $STATE_DIRECTORY, else
// ~/.local/state/onair; it is created (0700) if missing.
func stateDir(cfg *config.Config) (string, error) {
	dir := cfg.Device.StateDir
	if dir == "" {
		dir, _, _ = strings.Cut(os.Getenv("STATE_DIRECTORY"), ":")
	}
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", &config.Error{Key: "device.state_dir", Err: fmt.Errorf("empty and no home directory: %w", err)}
		}
		dir = filepath.Join(home, ".local", "state", "onair")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", &config.Error{Key: "device.state_dir", Err: err}
	}
	return dir, nil
}

// relaySecretFile holds the secret a standalone board generated for its
// embedded relay when none is configured.
const relaySecretFile = "relay-secret"

// relaySecret returns relay.token_secret, or, when it is empty and the
// relay is not open to anyone, a secret generated once and kept in the
// state directory (0600): a standalone board's relay needs tokens, and the
// board mints its own.
func relaySecret(cfg *config.Config, dir string) (string, error) {
	if cfg.Relay.TokenSecret != "" || cfg.Relay.AllowAnonymous {
		return cfg.Relay.TokenSecret, nil
	}
	path := filepath.Join(dir, relaySecretFile)
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("relay secret: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("relay secret: %w", err)
	}
	secret := hex.EncodeToString(raw)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("relay secret: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("relay secret: %w", err)
	}
	return secret, nil
}
