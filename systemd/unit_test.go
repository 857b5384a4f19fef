package systemd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// maxExposure is the highest `systemd-analyze security` exposure allowed.
const maxExposure = 2.0

// requireAnalyze returns systemd-analyze's path; it skips where systemd is
// not installed, unless CI is set: there the test fails.
func requireAnalyze(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("systemd-analyze")
	if err == nil {
		return path
	}
	msg := "systemd-analyze not found (apt-get install systemd)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg + "; skipped because CI is unset")
	return ""
}

// unitForVerify writes the unit as onair.service into a fresh directory
// with ExecStart= pointing at a binary that exists here (this test binary:
// verify checks only that it is there and executable).
func unitForVerify(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), UnitName)
	if err := os.WriteFile(path, unitFor(exe), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestUnitVerifies: `systemd-analyze verify` has nothing to say about the unit.
func TestUnitVerifies(t *testing.T) {
	analyze := requireAnalyze(t)
	path := unitForVerify(t)
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// exposureRE finds the overall score in `systemd-analyze security` output.
var exposureRE = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)

// TestUnitExposure: `systemd-analyze security --offline=yes` rates the
// unit's exposure at most maxExposure (0 is locked down, 10 is unsafe).
func TestUnitExposure(t *testing.T) {
	analyze := requireAnalyze(t)
	path := unitForVerify(t)
	out, err := exec.Command(analyze, "security", "--offline=yes", "--no-pager", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := exposureRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure in:\n%s", out)
	}
	score, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exposure %.1f", score)
	if score > maxExposure {
		t.Errorf("exposure %.1f, want at most %.1f:\n%s", score, maxExposure, out)
	}
}

// unitSettings parses the unit into section.key → values.
func unitSettings(unit []byte) map[string][]string {
	settings := map[string][]string{}
	section := ""
	for _, line := range strings.Split(string(unit), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, _ := strings.Cut(line, "=")
			settings[section+"."+k] = append(settings[section+"."+k], v)
		}
	}
	return settings
}

// TestUnitSettings pins what the rest of onair relies on: the notify
// protocol and watchdog, no restart on a configuration error (exit 78),
// the service account, the paths, and the sandbox's key settings.
func TestUnitSettings(t *testing.T) {
	s := unitSettings(Unit)
	want := map[string]string{
		"Service.Type":                     "notify",
		"Service.NotifyAccess":             "main",
		"Service.WatchdogSec":              "30s",
		"Service.Restart":                  "on-failure",
		"Service.RestartPreventExitStatus": "78",
		"Service.User":                     ServiceUser,
		"Service.Group":                    ServiceUser,
		"Service.SupplementaryGroups":      AudioGroup,
		"Service.StateDirectory":           "onair",
		"Service.ConfigurationDirectory":   "onair",
		"Service.ExecStart":                DefaultBin + " run --config " + DefaultConfig,
		"Service.ExecReload":               "/bin/kill -HUP $MAINPID",
		"Service.NoNewPrivileges":          "yes",
		"Service.ProtectSystem":            "strict",
		"Service.CapabilityBoundingSet":    "",
		"Service.DevicePolicy":             "closed",
		"Service.DeviceAllow":              "char-alsa rw",
		"Service.PrivateDevices":           "no",
		"Service.UMask":                    "0077",
		"Install.WantedBy":                 "multi-user.target",
	}
	for key, v := range want {
		got, ok := s[key]
		if !ok || len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", key, got, v)
		}
	}
}

// TestUnitForBin: a binary installed elsewhere gets its own ExecStart=.
func TestUnitForBin(t *testing.T) {
	got := unitSettings(unitFor("/opt/onair/onair"))["Service.ExecStart"]
	if len(got) != 1 || got[0] != "/opt/onair/onair run --config "+DefaultConfig {
		t.Errorf("ExecStart %q", got)
	}
	if !bytes.Equal(unitFor(DefaultBin), Unit) {
		t.Error("unitFor(DefaultBin) differs from Unit")
	}
}
