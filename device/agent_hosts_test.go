package device

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/onair-dev/onair/channel"
	"github.com/onair-dev/onair/session"
)

// runHost publishes a tone as host uid into channel name on the relay at
// base until the returned stop is called (or the test ends).
func runHost(t *testing.T, base, name, uid string) (stop func()) {
	t.Helper()
	cfg := testSession(base)
	cfg.Channel, cfg.UID, cfg.Role = name, uid, channel.RoleHost
	cfg.Audio.Input = "tone:660"
	s, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("host %s: %v", uid, err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// streamUIDs returns the uids of the stream events named name, in order.
func streamUIDs(t *testing.T, h *harness, name string) []string {
	var out []string
	for _, e := range h.pub.events(t, name) {
		out = append(out, fmt.Sprint(e["uid"]))
	}
	return out
}

// TestAgentHostUIDs: an audience board on the real relay reports the
// channel's hosts by their uids, never by slot numbers, in its state and
// its stream events: hosts that join after it (announced by RTCP SDES),
// hosts already there when it joins (named by the answer's msid), and a
// host leaving.
func TestAgentHostUIDs(t *testing.T) {
	base := startRelay(t)
	h := newHarness(t, harnessOpts{cfg: func(c *AgentConfig) {
		c.Session = testSession(base)
		c.NewSession = nil
	}})
	hostsAre := func(want ...string) {
		t.Helper()
		h.pub.await(t, fmt.Sprintf("hosts %q", want), func() bool {
			s := h.pub.state(t)
			return s != nil && slices.Equal(s.Hosts, want)
		})
	}
	h.ok(`{"action":"join","channel":"uids","role":"audience","uid":"ear"}`)
	h.pub.awaitState(t, "joined")

	stopAlice := runHost(t, base, "uids", "alice")
	hostsAre("alice")
	runHost(t, base, "uids", "7")
	hostsAre("7", "alice") // sorted
	if got := streamUIDs(t, h, "stream-added"); !slices.Equal(got, []string{"alice", "7"}) {
		t.Fatalf("stream-added uids %q, want [alice 7]", got)
	}

	// Rejoin: both hosts are there when the answer is made.
	h.ok(`{"action":"leave"}`)
	h.pub.awaitState(t, "idle")
	h.ok(`{"action":"join","channel":"uids","role":"audience","uid":"ear"}`)
	hostsAre("7", "alice")
	added := streamUIDs(t, h, "stream-added")
	if slices.Sort(added); !slices.Equal(added, []string{"7", "7", "alice", "alice"}) {
		t.Fatalf("stream-added uids %q after the rejoin, want each host twice", added)
	}

	removedBefore := len(streamUIDs(t, h, "stream-removed"))
	stopAlice()
	hostsAre("7")
	if got := streamUIDs(t, h, "stream-removed")[removedBefore:]; !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("stream-removed uids %q when alice left, want [alice]", got)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
}
