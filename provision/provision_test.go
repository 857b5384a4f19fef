package provision

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onair-dev/onair/control"
)

// TestDeviceID: a configured id is kept; without one the host name stands
// for it when it is a valid MQTT name.
func TestDeviceID(t *testing.T) {
	if id, err := DeviceID("board-7"); err != nil || id != "board-7" {
		t.Errorf(`DeviceID("board-7") = %q, %v; want "board-7"`, id, err)
	}
	h, herr := os.Hostname()
	id, err := DeviceID("")
	if herr == nil && control.CheckName(h) == nil {
		if err != nil || id != h {
			t.Errorf(`DeviceID("") = %q, %v; want the host name %q`, id, err, h)
		}
	} else if err == nil {
		t.Errorf(`DeviceID("") = %q with the host name %q unusable, want an error`, id, h)
	}
}

// TestStateDir: configured first, then $STATE_DIRECTORY's first entry,
// then ~/.local/state/onair; each is created with mode 0700.
func TestStateDir(t *testing.T) {
	base := t.TempDir()
	t.Setenv("HOME", filepath.Join(base, "home"))
	t.Setenv("STATE_DIRECTORY", filepath.Join(base, "systemd")+":"+filepath.Join(base, "other"))
	for _, tc := range []struct{ configured, want string }{
		{filepath.Join(base, "conf", "state"), filepath.Join(base, "conf", "state")},
		{"", filepath.Join(base, "systemd")},
	} {
		dir, err := StateDir(tc.configured)
		if err != nil || dir != tc.want {
			t.Errorf("StateDir(%q) = %q, %v; want %q", tc.configured, dir, err, tc.want)
			continue
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("StateDir(%q): %v, %v; want a directory with mode 0700", tc.configured, fi, err)
		}
	}
	t.Setenv("STATE_DIRECTORY", "")
	want := filepath.Join(base, "home", ".local", "state", "onair")
	if dir, err := StateDir(""); err != nil || dir != want {
		t.Errorf(`StateDir("") without $STATE_DIRECTORY = %q, %v; want %q`, dir, err, want)
	}
}

// TestStateDirUncreatable: a state directory under a file is an error.
func TestStateDirUncreatable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if dir, err := StateDir(filepath.Join(file, "state")); err == nil {
		t.Errorf("StateDir under a file = %q, want an error", dir)
	}
}

// TestRelaySecretKept: the secret is generated once (0600, 64 hex digits)
// and the same one returned at every later start.
func TestRelaySecretKept(t *testing.T) {
	dir := t.TempDir()
	first, err := RelaySecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 64 || strings.Trim(first, "0123456789abcdef") != "" {
		t.Errorf("secret %q, want 64 hex digits", first)
	}
	fi, err := os.Stat(filepath.Join(dir, RelaySecretFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v, %v; want mode 0600", fi, err)
	}
	again, err := RelaySecret(dir)
	if err != nil || again != first {
		t.Errorf("second RelaySecret = %q, %v; want the stored %q", again, err, first)
	}
}

// TestRelaySecretReplacesShort: a stored secret too short to use (an
// empty file, say) is replaced by a new one.
func TestRelaySecretReplacesShort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, RelaySecretFile)
	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secret, err := RelaySecret(dir)
	if err != nil || len(secret) != 64 {
		t.Fatalf("RelaySecret = %q, %v; want a new 64-digit secret", secret, err)
	}
	b, err := os.ReadFile(path)
	if err != nil || strings.TrimSpace(string(b)) != secret {
		t.Errorf("file holds %q, %v; want %q", b, err, secret)
	}
}

// TestRelaySecretUnreadable: a secret file that cannot be read is an
// error, not a reason to make a new secret.
func TestRelaySecretUnreadable(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, RelaySecretFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if s, err := RelaySecret(dir); err == nil {
		t.Errorf("RelaySecret with a directory in the way = %q, want an error", s)
	}
}
