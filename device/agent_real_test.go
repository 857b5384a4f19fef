package device

import (
	"testing"
	"time"
)

// TestAgentRealSession drives a real Session (ALSA file devices, the
// embedded relay on loopback) through join, mute, gain, host → audience →
// host and leave: the agent's view of the session's callbacks holds with
// the real thing.
func TestAgentRealSession(t *testing.T) {
	base := startRelay(t)
	h := newHarness(t, harnessOpts{cfg: func(c *AgentConfig) {
		c.Config = testConfig(base)
		c.NewSession = nil
		c.JoinTimeout = 10 * time.Second
	}})
	h.ok(`{"action":"join","channel":"real","uid":"b1"}`)
	if s := h.pub.awaitState(t, "joined"); !s.Publishing || *s.Role != "host" {
		t.Fatalf("state %+v", s)
	}
	h.ok(`{"action":"mute"}`)
	h.ok(`{"action":"set_gain","gain_db":-3}`)
	h.ok(`{"action":"set_role","role":"audience"}`)
	if s := h.pub.awaitState(t, "joined"); s.Publishing || *s.Role != "audience" || !s.Muted {
		t.Fatalf("state %+v", s)
	}
	h.ok(`{"action":"set_role","role":"host"}`)
	h.pub.awaitState(t, "joined")
	h.ok(`{"action":"leave"}`)
	h.pub.awaitState(t, "idle")
	if len(h.pub.events(t, "connection-state")) < 4 {
		t.Error("too few connection-state events")
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
}
