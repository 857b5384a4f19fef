package control_test

import (
	"github.com/onair-dev/onair/internal/mqtttest"

	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onair-dev/onair/control"
)

// fakeDevice is a control.Client whose commands are answered by a
// goroutine, as the agent would: first a reply with another id (which
// Request must skip), then the real one on reply_to.
type fakeDevice struct {
	recorder
	mu   sync.Mutex
	seen []map[string]any
}

func startFakeDevice(t *testing.T, broker, id string) *fakeDevice {
	t.Helper()
	d := &fakeDevice{recorder: *newRecorder()}
	c, stop := startClient(t, control.Config{Broker: broker, DeviceID: id}, &d.recorder)
	d.waitConnected(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for cmd := range d.commands {
			var m map[string]any
			if err := json.Unmarshal([]byte(cmd.payload), &m); err != nil {
				t.Errorf("device got %q: %v", cmd.payload, err)
				continue
			}
			d.mu.Lock()
			d.seen = append(d.seen, m)
			d.mu.Unlock()
			replyTo, _ := m["reply_to"].(string)
			other, _ := json.Marshal(map[string]any{"id": "someone-else", "ok": true})
			reply, _ := json.Marshal(map[string]any{"id": m["id"], "ok": true, "action": m["action"]})
			if err := c.PublishReply(replyTo, other); err != nil {
				t.Errorf("reply: %v", err)
			}
			if err := c.PublishReply(replyTo, reply); err != nil {
				t.Errorf("reply: %v", err)
			}
		}
	}()
	t.Cleanup(func() {
		stop()
		close(d.commands)
		<-done
	})
	return d
}

// TestRequest: a round trip through Mosquitto to a device answering on
// reply_to, with and without an id; a device that does not answer gives
// ErrTimeout, not before the timeout.
func TestRequest(t *testing.T) {
	checkGoroutines(t)
	m := mqtttest.Start(t, mqtttest.TestDir(t), "allow_anonymous true")
	dev := startFakeDevice(t, m.URL("tcp"), "d1")
	cfg := control.Config{Broker: m.URL("tcp"), Log: testLog()}

	start := time.Now()
	reply, err := control.Request(t.Context(), cfg, "d1", []byte(`{"id":"c-17","action":"status","reply_to":"ignored"}`), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("round trip %s", time.Since(start).Round(time.Millisecond))
	if string(reply) != `{"action":"status","id":"c-17","ok":true}` {
		t.Fatalf("reply %s", reply)
	}
	reply, err = control.Request(t.Context(), cfg, "d1", []byte(`{"action":"leave"}`), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r struct{ ID, Action string }
	if err := json.Unmarshal(reply, &r); err != nil || !strings.HasPrefix(r.ID, "ctl-") || r.Action != "leave" {
		t.Fatalf("reply %s (%v)", reply, err)
	}
	dev.mu.Lock()
	for _, cmd := range dev.seen {
		if rt, _ := cmd["reply_to"].(string); !strings.HasPrefix(rt, "onair/ctl/") || !strings.HasSuffix(rt, "/reply") {
			t.Errorf("command %v: reply_to not set by Request", cmd)
		}
	}
	dev.mu.Unlock()

	start = time.Now()
	_, err = control.Request(t.Context(), cfg, "nobody", []byte(`{"action":"status"}`), 300*time.Millisecond)
	if !errors.Is(err, control.ErrTimeout) {
		t.Fatalf("Request to nobody: %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("timed out after %s, want not before 300ms", d)
	}
	t.Logf("timeout error: %v", err)

	for _, bad := range []string{``, `[]`, `null`, `"x"`, `{`} {
		if _, err := control.Request(t.Context(), cfg, "d1", []byte(bad), time.Second); !errors.Is(err, control.ErrInvalidCommand) {
			t.Errorf("command %q: %v, want ErrInvalidCommand", bad, err)
		}
	}
	if _, err := control.Request(t.Context(), cfg, "all", []byte(`{}`), time.Second); err == nil {
		t.Error("device all accepted")
	}
}

// TestRequestNoBroker: a broker that is not there is a connection error,
// not a timeout.
func TestRequestNoBroker(t *testing.T) {
	checkGoroutines(t)
	cfg := control.Config{Broker: "tcp://127.0.0.1:" + itoa(mqtttest.FreePort(t)), Log: testLog()}
	_, err := control.Request(t.Context(), cfg, "d1", []byte(`{}`), 10*time.Second)
	if err == nil || errors.Is(err, control.ErrTimeout) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("error %v, want connection refused", err)
	}
	t.Logf("error: %v", err)
}
