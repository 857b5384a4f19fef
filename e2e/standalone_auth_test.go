package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onair-dev/onair/control"
	"github.com/onair-dev/onair/internal/mqtttest"
)

// TestStandaloneBrokerAuth: on a standalone board (embedded broker), `onair
// ctl DEVICE status` with the board's configuration and no other flag is
// obeyed (it finds the operator credential in the state directory), while
// an anonymous local client's command is not, and may still read the
// board's status.
func TestStandaloneBrokerAuth(t *testing.T) {
	tr := loopbackRelay(t, nil)
	dir := t.TempDir()
	listen := fmt.Sprintf("127.0.0.1:%d", mqtttest.FreePort(t))
	conf := fmt.Sprintf(`device: {id: sa, state_dir: %q, autojoin: false}
mqtt: {broker: embedded, listen: %q}
relay: {enabled: false}
audio: {input: "tone:440"}
uplink: {whip_url: "%s/whip/{channel}?uid={uid}", whep_url: "%s/whep/{channel}?uid={uid}"}
webrtc: {interfaces: [lo], loopback: true}
`, filepath.Join(dir, "state"), listen, tr.URL, tr.URL)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, out, done := startOnair(t, nil, "run", "--config", path)
	w := watch(t, "tcp://"+listen, "sa") // anonymous: reads the state
	w.waitState(t, 10*time.Second, map[string]any{"state": "idle"})

	ctl := exec.Command(onairBin, "ctl", "sa", "status", "--config", path, "--timeout", "10s")
	ctl.Env = append(os.Environ(), loopbackEnv...)
	if b, err := ctl.CombinedOutput(); err != nil || !strings.Contains(string(b), `"ok":true`) {
		t.Fatalf("onair ctl sa status: %v\n%s\nboard:\n%s", err, b, out.String())
	}

	_, err := control.Request(context.Background(), control.Config{Broker: "tcp://" + listen}, "sa",
		[]byte(`{"action":"mute"}`), 3*time.Second)
	if err == nil {
		t.Error("an anonymous client's command was answered")
	}
	t.Logf("anonymous command: %v", err)
	if s, _ := w.snapshot(); s["muted"] != false {
		t.Errorf("state after the anonymous mute: %v", s)
	}

	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("onair run: %v\n%s", err, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Errorf("onair run did not stop\n%s", out.String())
	}
}
