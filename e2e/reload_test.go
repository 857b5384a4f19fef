package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/notifytest"
)

// TestRunReloadsOnSIGHUP: SIGHUP with a change to the agent's sections
// only (the input gain) rebuilds the agent alone: the MQTT connection stays
// and the board is back in its channel; a configuration that does not load
// is refused and the running one kept; a change to the MQTT side restarts
// every component and the board rejoins. systemd hears RELOADING=1 and
// READY=1 each time.
func TestRunReloadsOnSIGHUP(t *testing.T) {
	t.Parallel()
	tr := loopbackRelay(t, nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	write := func(gain, groups string) {
		conf := fmt.Sprintf(`device: {id: rl, state_dir: %q, autojoin: true, groups: [%s]}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
relay: {enabled: false}
audio: {input: "tone:440", gain_db: %s}
uplink: {channel: rl, whip_url: "%s/whip/{channel}?uid={uid}", whep_url: "%s/whep/{channel}?uid={uid}"}
webrtc: {interfaces: [lo], loopback: true}
`, filepath.Join(dir, "state"), groups, gain, tr.URL, tr.URL)
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("0", "")
	sock, msgs := notifytest.ListenNotify(t)
	cmd, out, _ := startOnair(t, []string{"NOTIFY_SOCKET=" + sock}, "run", "--config", path)
	if _, err := notifytest.WaitFor(msgs, "READY=1", 10*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	tr.waitMembers(t, "rl", 10*time.Second, 0, "rl")
	hup := func(wantLog string) {
		t.Helper()
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{"RELOADING=1", "READY=1"} {
			if _, err := notifytest.WaitFor(msgs, m, 10*time.Second); err != nil {
				t.Fatalf("after SIGHUP: %v\n%s", err, out.String())
			}
		}
		for deadline := time.Now().Add(3 * time.Second); wantLog != "" && !strings.Contains(out.String(), wantLog) && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		if wantLog != "" && !strings.Contains(out.String(), wantLog) {
			t.Errorf("log lacks %q:\n%s", wantLog, out.String())
		}
	}
	connects := func() int { return strings.Count(out.String(), `msg="mqtt: connected"`) }
	since := func() string {
		info, err := tr.channel("rl")
		if err != nil || len(info.Hosts) != 1 {
			return ""
		}
		return info.Hosts[0].Since
	}
	// rejoined waits until the board is host again in a new session.
	rejoined := func(old string) string {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if s := since(); s != "" && s != old {
				return s
			}
		}
		t.Fatalf("the board did not rejoin in a new session\n%s", out.String())
		return ""
	}
	first := since()

	write("-6", "")
	hup("reload: rebuilding the device agent only")
	second := rejoined(first)
	if n := connects(); n != 1 {
		t.Errorf("MQTT connected %d times, want once: the agent-only reload kept the connection", n)
	}

	if err := os.WriteFile(path, []byte("audio: {frame_ms: 25}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hup("reload: the configuration does not load; keeping the running one")
	time.Sleep(500 * time.Millisecond)
	if s := since(); s != second {
		t.Errorf("a refused reload changed the session: since %q, was %q", s, second)
	}

	write("-6", "lobby")
	hup("") // every component restarts
	rejoined(second)
	deadline := time.Now().Add(10 * time.Second)
	for connects() < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := connects(); n != 2 {
		t.Errorf("MQTT connected %d times, want twice: an MQTT-side change restarts the components", n)
	}
}
