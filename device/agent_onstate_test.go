package device

import (
	"encoding/json"
	"sync"
	"testing"
)

// TestAgentOnState: OnState gets every published state, typed, in order:
// each one encodes to the payload published on the state topic.
func TestAgentOnState(t *testing.T) {
	var mu sync.Mutex
	var got []Reported
	h := newHarness(t, harnessOpts{cfg: func(c *AgentConfig) {
		c.OnState = func(r Reported) {
			mu.Lock()
			got = append(got, r)
			mu.Unlock()
		}
	}})
	joinHost(t, h)
	h.ok(`{"action":"leave"}`)
	h.pub.awaitState(t, "idle")
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	published := h.pub.all("state")
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(published) {
		t.Fatalf("OnState called %d times, %d states published", len(got), len(published))
	}
	var joined bool
	for i, r := range got {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != string(published[i].payload) {
			t.Errorf("state %d: OnState got %s, published %s", i, b, published[i].payload)
		}
		joined = joined || r.State == StateJoined && r.Channel == "lobby" && r.Role == RoleHost
	}
	if !joined {
		t.Errorf("OnState never got joined lobby as host: %+v", got)
	}
}
