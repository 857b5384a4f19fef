// Package provision gives a board its identity and the secrets it keeps
// in its state directory: the device id, the state directory itself and
// the secret of its embedded relay. It takes plain values, not the
// configuration, so that callers name the configuration key of an error.
package provision

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/onair-dev/onair/control"
	"github.com/onair-dev/onair/internal/atomicfile"
)

// DeviceID returns the device id: configured (device.id) when it is not
// empty, else the host name, which must then be a valid MQTT name
// (control.CheckName).
func DeviceID(configured string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	h, err := os.Hostname()
	if err != nil || control.CheckName(h) != nil {
		return "", fmt.Errorf("provision: empty, and the host name %q cannot stand for it", h)
	}
	return h, nil
}

// StateDir returns the directory for state that survives power loss:
// configured (device.state_dir), else systemd's $STATE_DIRECTORY (its
// first entry), else ~/.local/state/onair. It is created (0700) if missing.
func StateDir(configured string) (string, error) {
	dir := configured
	if dir == "" {
		dir, _, _ = strings.Cut(os.Getenv("STATE_DIRECTORY"), ":")
	}
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("provision: empty and no home directory: %w", err)
		}
		dir = filepath.Join(home, ".local", "state", "onair")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("provision: state directory: %w", err)
	}
	return dir, nil
}

// RelaySecretFile is the file in the state directory that holds the secret
// a standalone board generated for its embedded relay.
const RelaySecretFile = "relay-secret"

// minSecret is the length under which a stored secret is not used.
const minSecret = 32

// RelaySecret returns the relay secret kept in dir's RelaySecretFile,
// generating it (32 random bytes, hex, mode 0600) on first use. It is
// written atomically: a power cut cannot leave an empty file behind, which
// would make the next start generate a new secret and so invalidate every
// token minted with the old one.
func RelaySecret(dir string) (string, error) {
	path := filepath.Join(dir, RelaySecretFile)
	b, err := os.ReadFile(path)
	if secret := strings.TrimSpace(string(b)); err == nil && len(secret) >= minSecret {
		return secret, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("provision: relay secret: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("provision: relay secret: %w", err)
	}
	secret := hex.EncodeToString(raw)
	if err := atomicfile.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("provision: relay secret: %w", err)
	}
	return secret, nil
}
