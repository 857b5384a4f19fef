package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/onair-dev/onair/control"
	"github.com/onair-dev/onair/internal/alsatest"
	"github.com/onair-dev/onair/internal/mqtttest"
	"github.com/onair-dev/onair/internal/waitfor"
)

// board is `onair run` as a test starts it: a device agent on a Mosquitto
// broker, joining channels on a test relay.
type board struct {
	t        *testing.T
	id       string
	broker   string
	conf     string
	env      []string
	cmd      *exec.Cmd
	out      *syncBuffer
	done     chan error
	stateDir string
}

// newBoard writes the configuration of board id and starts it.
func newBoard(t *testing.T, m *mqtttest.Mosquitto, tr *testRelay, id string) *board {
	t.Helper()
	alsa := alsatest.Setup(t, "", alsatest.Options{Signal: alsatest.Signal{Hz: 440, Seconds: 120}})
	dir := t.TempDir()
	conf := fmt.Sprintf(`device: {id: %q, state_dir: %q, autojoin: false}
mqtt: {broker: %q, telemetry_interval: 1s}
relay: {enabled: false}
audio: {input: default, fallback_input: ""}
uplink:
  whip_url: "%s/whip/{channel}?uid={uid}"
  whep_url: "%s/whep/{channel}?uid={uid}"
  retry_min: 100ms
  retry_max: 500ms
webrtc: {interfaces: [lo], loopback: true}
`, id, filepath.Join(dir, "state"), m.URL("tcp"), tr.URL, tr.URL)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &board{t: t, id: id, broker: m.URL("tcp"), conf: path, env: []string{"ALSA_CONFIG_PATH=" + alsa.ConfigPath},
		stateDir: filepath.Join(dir, "state")}
	b.start()
	t.Cleanup(b.stop)
	return b
}

func (b *board) start() {
	b.t.Helper()
	b.cmd, b.out, b.done = startOnair(b.t, b.env, "run", "--config", b.conf)
}

// stop ends the board with SIGTERM and expects a clean exit within 5 s.
func (b *board) stop() {
	if b.cmd == nil || b.cmd.ProcessState != nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-b.done:
		if err != nil {
			b.t.Errorf("onair run: %v\n%s", err, b.out.String())
		}
	case <-time.After(5 * time.Second):
		b.t.Errorf("onair run did not stop within 5 s of SIGTERM\n%s", b.out.String())
		_ = b.cmd.Process.Kill()
		<-b.done
	}
	if b.t.Failed() {
		b.t.Logf("onair run output:\n%s", b.out.String())
	}
}

// kill ends the board with SIGKILL, as a power cut would.
func (b *board) kill() {
	_ = b.cmd.Process.Kill()
	<-b.done
}

// reply is a command's reply.
type reply struct {
	ID    string         `json:"id"`
	OK    bool           `json:"ok"`
	State map[string]any `json:"state"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// send sends a command with `onair ctl`'s request and returns the reply.
func (b *board) send(cmd map[string]any) reply {
	b.t.Helper()
	payload, _ := json.Marshal(cmd)
	raw, err := control.Request(context.Background(), control.Config{Broker: b.broker}, b.id, payload, 15*time.Second)
	if err != nil {
		b.t.Fatalf("command %s: %v\n%s", payload, err, b.out.String())
	}
	var r reply
	if err := json.Unmarshal(raw, &r); err != nil {
		b.t.Fatalf("reply %s: %v", raw, err)
	}
	return r
}

// watcher follows a device's retained state and its replies.
type watcher struct {
	mu      sync.Mutex
	state   map[string]any
	states  int
	replies []reply
	client  mqtt.Client
}

func watch(t *testing.T, broker, id string) *watcher {
	t.Helper()
	w := &watcher{}
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID("watch-" + id).SetCleanSession(true).
		SetProtocolVersion(4).SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(200 * time.Millisecond)
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		c.Subscribe("onair/"+id+"/state", 1, func(_ mqtt.Client, m mqtt.Message) {
			var s map[string]any
			if json.Unmarshal(m.Payload(), &s) == nil {
				w.mu.Lock()
				w.state, w.states = s, w.states+1
				w.mu.Unlock()
			}
		})
		c.Subscribe("onair/"+id+"/reply", 1, func(_ mqtt.Client, m mqtt.Message) {
			var r reply
			if json.Unmarshal(m.Payload(), &r) == nil {
				w.mu.Lock()
				w.replies = append(w.replies, r)
				w.mu.Unlock()
			}
		})
	})
	w.client = mqtt.NewClient(opts)
	if tok := w.client.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("watcher: %v", tok.Error())
	}
	t.Cleanup(func() { w.client.Disconnect(100) })
	return w
}

// publish sends a raw payload to the device's command topic.
func (w *watcher) publish(t *testing.T, id string, payload []byte) {
	t.Helper()
	if tok := w.client.Publish("onair/"+id+"/cmd", 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

func (w *watcher) snapshot() (map[string]any, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state, w.states
}

// repliesTo returns the replies with id.
func (w *watcher) repliesTo(id string) []reply {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []reply
	for _, r := range w.replies {
		if r.ID == id {
			out = append(out, r)
		}
	}
	return out
}

// waitState waits until the retained state matches every key of want.
func (w *watcher) waitState(t *testing.T, timeout time.Duration, want map[string]any) map[string]any {
	t.Helper()
	var s map[string]any
	if !waitfor.Poll(timeout, func() bool {
		s, _ = w.snapshot()
		ok := s != nil
		for k, v := range want {
			ok = ok && fmt.Sprint(s[k]) == fmt.Sprint(v)
		}
		return ok
	}) {
		t.Fatalf("state %v, want %v within %s", s, want, timeout)
	}
	return s
}
