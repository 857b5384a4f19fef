package device

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDesiredNotRegular: a FIFO, a directory or an oversized file named
// DesiredFile is refused without blocking and renamed aside.
func TestDesiredNotRegular(t *testing.T) {
	for name, create := range map[string]func(path string) error{
		"fifo":      func(p string) error { return syscall.Mkfifo(p, 0o600) },
		"directory": func(p string) error { return os.Mkdir(p, 0o700) },
		"oversized": func(p string) error {
			return os.WriteFile(p, []byte(`{"version":1,"channel":"`+strings.Repeat("a", maxDesiredSize)+`"}`), 0o600)
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, DesiredFile)
			if err := create(path); err != nil {
				t.Fatal(err)
			}
			if _, err := loadDesired(dir); !errors.Is(err, errCorruptDesired) {
				t.Fatalf("%v, want errCorruptDesired", err)
			}
			if _, err := os.Lstat(path + ".bad"); err != nil {
				t.Errorf("not moved aside: %v", err)
			}
			if _, err := loadDesired(dir); !errors.Is(err, errNoDesired) {
				t.Errorf("after: %v", err)
			}
		})
	}
}

// TestAgentDesiredFIFO: a FIFO named DesiredFile does not wedge the agent:
// it starts idle, reports the error and obeys commands.
func TestAgentDesiredFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, DesiredFile), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOpts{dir: dir, autojoin: &Desired{Channel: "demo", Role: RoleHost}})
	h.pub.awaitState(t, "idle")
	h.pub.await(t, "error event", func() bool { return len(h.pub.events(t, "error")) == 1 })
	h.ok(`{"action":"mute"}`)
	if d, err := loadDesired(dir); err != nil || !d.Muted {
		t.Errorf("desired after mute: %+v, %v", d, err)
	}
}
