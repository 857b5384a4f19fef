package systemd

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fakeBinary writes a stand-in for the onair binary and returns its path.
func fakeBinary(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "onair")
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkFile checks a file's content and permission bits.
func checkFile(t *testing.T, path string, content []byte, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, content) {
		t.Errorf("%s: content %q, want %q", path, trim(b), trim(content))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != mode {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), mode)
	}
}

func trim(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// TestInstallRoot installs into a directory tree: binary 0755, unit 0644,
// config 0640; a second install replaces binary and unit and keeps the
// edited config; no temporary files are left.
func TestInstallRoot(t *testing.T) {
	root := t.TempDir()
	cfg := []byte("log:\n  level: info\n")
	var out bytes.Buffer
	opts := InstallOptions{Config: cfg, Source: fakeBinary(t, "v1"), Root: root, Out: &out}
	if err := Install(opts); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "usr/bin/onair")
	unit := filepath.Join(root, "etc/systemd/system/onair.service")
	conf := filepath.Join(root, "etc/onair/config.yaml")
	checkFile(t, bin, []byte("v1"), 0o755)
	checkFile(t, unit, Unit, 0o644)
	checkFile(t, conf, cfg, 0o640)
	t.Logf("first install:\n%s", out.String())

	edited := []byte("log:\n  level: debug\n")
	if err := os.WriteFile(conf, edited, 0o640); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	opts.Source = fakeBinary(t, "v2")
	if err := Install(opts); err != nil {
		t.Fatal(err)
	}
	checkFile(t, bin, []byte("v2"), 0o755)
	checkFile(t, conf, edited, 0o640)
	if !strings.Contains(out.String(), "kept "+conf) {
		t.Errorf("second install does not say it kept the config:\n%s", out.String())
	}

	for _, dir := range []string{"usr/bin", "etc/systemd/system", "etc/onair"} {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Errorf("%s holds %d files, want 1 (temporary files left?)", dir, len(entries))
		}
	}
}

// TestInstallBinPath: another binary path is honoured in the unit.
func TestInstallBinPath(t *testing.T) {
	root := t.TempDir()
	opts := InstallOptions{Config: []byte("x: 1\n"), Source: fakeBinary(t, "bin"), Root: root, Bin: "/opt/onair/onair"}
	if err := Install(opts); err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join(root, "opt/onair/onair"), []byte("bin"), 0o755)
	checkFile(t, filepath.Join(root, "etc/systemd/system/onair.service"), unitFor("/opt/onair/onair"), 0o644)

	opts.Bin = "relative/onair"
	if err := Install(opts); err == nil {
		t.Error("no error for a relative binary path")
	}
}

// TestInstallNeedsConfig: nothing to put in /etc/onair is an error.
func TestInstallNeedsConfig(t *testing.T) {
	if err := Install(InstallOptions{Source: fakeBinary(t, "bin"), Root: t.TempDir()}); err == nil {
		t.Error("no error without a configuration")
	}
}

// fakeSystem records what Install asks of the machine.
type fakeSystem struct {
	euid     int
	groups   map[string]int
	users    map[string]bool
	systemd  bool
	commands []string
	chowns   []int // gids
	failOn   string
}

func (f *fakeSystem) system() system {
	return system{
		euid: func() int { return f.euid },
		run: func(name string, args ...string) error {
			cmd := strings.Join(append([]string{name}, args...), " ")
			f.commands = append(f.commands, cmd)
			if f.failOn != "" && strings.HasPrefix(cmd, f.failOn) {
				return errors.New("exit status 1")
			}
			switch name {
			case "useradd":
				f.users[ServiceUser] = true
				f.groups[ServiceUser] = 998
			case "groupadd":
				f.groups[AudioGroup] = 29
			}
			return nil
		},
		lookupGroup: func(name string) (int, bool, error) {
			gid, ok := f.groups[name]
			return gid, ok, nil
		},
		lookupUser:     func(name string) (bool, error) { return f.users[name], nil },
		chown:          func(_ string, _, gid int) error { f.chowns = append(f.chowns, gid); return nil },
		systemdRunning: func() bool { return f.systemd },
	}
}

// TestInstallSystem: as root on a fresh board Install creates the user in
// group audio, gives the config to group onair, reloads systemd and
// enables the unit (without starting it); on a second run it only makes
// sure onair is in audio.
func TestInstallSystem(t *testing.T) {
	root := t.TempDir()
	f := &fakeSystem{groups: map[string]int{AudioGroup: 29}, users: map[string]bool{}, systemd: true}
	opts := InstallOptions{Config: []byte("x: 1\n"), Source: fakeBinary(t, "bin")}
	if err := install(opts, root, f.system()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"useradd --system --user-group --no-create-home --home-dir /var/lib/onair --shell /usr/sbin/nologin --groups audio --comment onair broadcaster onair",
		"systemctl daemon-reload",
		"systemctl enable onair.service",
	}
	if !reflect.DeepEqual(f.commands, want) {
		t.Errorf("commands\n%q\nwant\n%q", f.commands, want)
	}
	if !reflect.DeepEqual(f.chowns, []int{998}) {
		t.Errorf("chown gids %v, want the config given to group onair (998)", f.chowns)
	}

	f.commands, f.systemd = nil, false
	if err := install(opts, root, f.system()); err != nil {
		t.Fatal(err)
	}
	want = []string{"usermod --append --groups audio onair", "systemctl enable onair.service"}
	if !reflect.DeepEqual(f.commands, want) {
		t.Errorf("second run: commands %q, want %q", f.commands, want)
	}
}

// TestInstallCreatesAudioGroup: a system without group audio gets one.
func TestInstallCreatesAudioGroup(t *testing.T) {
	f := &fakeSystem{groups: map[string]int{}, users: map[string]bool{}}
	opts := InstallOptions{Config: []byte("x: 1\n"), Source: fakeBinary(t, "bin")}
	if err := install(opts, t.TempDir(), f.system()); err != nil {
		t.Fatal(err)
	}
	if len(f.commands) == 0 || f.commands[0] != "groupadd --system audio" {
		t.Errorf("commands %q, want groupadd first", f.commands)
	}
}

// TestInstallRefusesWithoutRoot: a clear error, and nothing written.
func TestInstallRefusesWithoutRoot(t *testing.T) {
	root := t.TempDir()
	f := &fakeSystem{euid: 1000, groups: map[string]int{}, users: map[string]bool{}}
	err := install(InstallOptions{Config: []byte("x: 1\n"), Source: fakeBinary(t, "bin")}, root, f.system())
	if !errors.Is(err, ErrNotRoot) {
		t.Fatalf("error %v, want ErrNotRoot", err)
	}
	if got := err.Error(); got != "install: must run as root (try sudo)" {
		t.Errorf("error %q", got)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 || len(f.commands) != 0 {
		t.Errorf("wrote %d entries, ran %q", len(entries), f.commands)
	}
}

// TestInstallCommandFails: a failing command stops the install with its name.
func TestInstallCommandFails(t *testing.T) {
	f := &fakeSystem{groups: map[string]int{AudioGroup: 29}, users: map[string]bool{}, failOn: "systemctl enable"}
	err := install(InstallOptions{Config: []byte("x: 1\n"), Source: fakeBinary(t, "bin")}, t.TempDir(), f.system())
	if err == nil {
		t.Fatal("no error when systemctl enable fails")
	}
}
