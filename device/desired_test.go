package device

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestDesiredSaveLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := loadDesired(dir); !errors.Is(err, errNoDesired) {
		t.Fatalf("empty dir: %v", err)
	}
	for _, d := range []Desired{
		{Channel: "lobby", Role: RoleAudience, Token: "a.b.c", UID: "7", Muted: true, GainDB: -12.5},
		{GainDB: 3}, // idle, gain kept
	} {
		if err := saveDesired(dir, d); err != nil {
			t.Fatal(err)
		}
		got, err := loadDesired(dir)
		if err != nil || got != d {
			t.Fatalf("loaded %+v, %v; want %+v", got, err, d)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, DesiredFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

// TestDesiredAtomicReplace: an existing file is replaced whole, and a
// stale temporary file from a crash before the rename does not matter.
func TestDesiredAtomicReplace(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "."+DesiredFile+".tmp-123"), []byte(`{"version":1,"chan`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := saveDesired(dir, Desired{Channel: "a", Role: RoleHost}); err != nil {
		t.Fatal(err)
	}
	if err := saveDesired(dir, Desired{Channel: "b", Role: RoleHost}); err != nil {
		t.Fatal(err)
	}
	if d, err := loadDesired(dir); err != nil || d.Channel != "b" {
		t.Fatalf("%+v, %v", d, err)
	}
	// A directory that cannot be written: the old file stays.
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(dir, 0o700)
		if err := saveDesired(dir, Desired{Channel: "c", Role: RoleHost}); err == nil {
			t.Fatal("save into a read-only directory succeeded")
		}
		if d, err := loadDesired(dir); err != nil || d.Channel != "b" {
			t.Fatalf("after a failed save: %+v, %v", d, err)
		}
	}
}

func TestDesiredCorrupt(t *testing.T) {
	for name, content := range map[string]string{
		"truncated":     `{"version":1,"channel":"lo`,
		"empty":         ``,
		"other version": `{"version":2,"channel":"lobby","role":"host","muted":false,"gain_db":0}`,
		"unknown field": `{"version":1,"channel":"lobby","role":"host","volume":3,"muted":false,"gain_db":0}`,
		"bad channel":   `{"version":1,"channel":"a/b","role":"host","muted":false,"gain_db":0}`,
		"bad role":      `{"version":1,"channel":"lobby","role":"dj","muted":false,"gain_db":0}`,
		"no role":       `{"version":1,"channel":"lobby","muted":false,"gain_db":0}`,
		"bad gain":      `{"version":1,"muted":false,"gain_db":99}`,
		"trailing":      `{"version":1,"muted":false,"gain_db":0} x`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, DesiredFile)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := loadDesired(dir); !errors.Is(err, errCorruptDesired) {
				t.Fatalf("error %v", err)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("corrupt file still in place: %v", err)
			}
			if b, err := os.ReadFile(path + ".bad"); err != nil || string(b) != content {
				t.Errorf("moved aside: %q, %v", b, err)
			}
		})
	}
}

func TestDesiredValidate(t *testing.T) {
	good := []Desired{{}, {Channel: "x", Role: RoleHost}, {Channel: "x", Role: RoleAudience, Token: "t", UID: "u", GainDB: 40}}
	for _, d := range good {
		if err := d.Validate(); err != nil {
			t.Errorf("%+v: %v", d, err)
		}
	}
	bad := []Desired{{Token: "t"}, {Channel: "x"}, {Channel: "x", Role: RoleHost, Token: "a b"}, {GainDB: -61}}
	for _, d := range bad {
		if d.Validate() == nil {
			t.Errorf("%+v validated", d)
		}
	}
}
