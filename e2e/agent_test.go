package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/mqtttest"
	"github.com/onair-dev/onair/internal/waitfor"
)

// waitAudience polls the relay until channel has want audience members
// and the given hosts.
func (tr *testRelay) waitMembers(t *testing.T, channel string, timeout time.Duration, audience int, hosts ...string) {
	t.Helper()
	var last any
	if waitfor.Poll(timeout, func() bool {
		info, err := tr.channel(channel)
		if err != nil {
			last = err
			return audience == 0 && len(hosts) == 0 && strings.Contains(err.Error(), "404")
		}
		last = info
		got := map[string]bool{}
		for _, h := range info.Hosts {
			got[h.UID] = true
		}
		ok := info.Audience == audience && len(info.Hosts) == len(hosts)
		for _, h := range hosts {
			ok = ok && got[h]
		}
		return ok
	}) {
		return
	}
	t.Fatalf("channel %q: want %d audience and hosts %v within %s; last %+v", channel, audience, hosts, timeout, last)
}

// TestAgentFollowsCommands: join → the relay lists the board as host →
// set_role audience → an audience member and no host → set_role host →
// leave → the channel is empty; the retained state follows each step and
// every command is answered once, with its id.
func TestAgentFollowsCommands(t *testing.T) {
	t.Parallel()
	m := mqtttest.Start(t, mqtttest.TestDir(t), "allow_anonymous true")
	tr := loopbackRelay(t, nil)
	w := watch(t, m.URL("tcp"), "b1")
	b := newBoard(t, m, tr, "b1")
	w.waitState(t, 10*time.Second, map[string]any{"state": "idle", "device": "b1"})

	steps := []struct {
		cmd      map[string]any
		state    map[string]any
		audience int
		hosts    []string
	}{
		{map[string]any{"action": "join", "channel": "lobby", "role": "host"}, map[string]any{"state": "joined", "role": "host", "channel": "lobby", "publishing": true}, 0, []string{"b1"}},
		{map[string]any{"action": "set_role", "role": "audience"}, map[string]any{"state": "joined", "role": "audience"}, 1, nil},
		{map[string]any{"action": "set_role", "role": "host"}, map[string]any{"state": "joined", "role": "host"}, 0, []string{"b1"}},
		{map[string]any{"action": "mute"}, map[string]any{"muted": true}, 0, []string{"b1"}},
		{map[string]any{"action": "leave"}, map[string]any{"state": "idle"}, 0, nil},
	}
	for i, s := range steps {
		id := fmt.Sprintf("step-%d", i)
		s.cmd["id"] = id
		r := b.send(s.cmd)
		if !r.OK || r.ID != id {
			t.Fatalf("%v: reply %+v", s.cmd, r)
		}
		w.waitState(t, 15*time.Second, s.state)
		tr.waitMembers(t, "lobby", 15*time.Second, s.audience, s.hosts...)
	}
	// A repeated leave is a successful no-op.
	if r := b.send(map[string]any{"id": "again", "action": "leave"}); !r.OK {
		t.Errorf("repeated leave: %+v", r)
	}
}

// TestAgentRefusesBadCommands: malformed, oversized, wrong-typed, unknown
// and expired commands each get exactly one error reply with their id
// (null where there is none to read) and change nothing.
func TestAgentRefusesBadCommands(t *testing.T) {
	t.Parallel()
	m := mqtttest.Start(t, mqtttest.TestDir(t), "allow_anonymous true")
	tr := loopbackRelay(t, nil)
	w := watch(t, m.URL("tcp"), "b2")
	b := newBoard(t, m, tr, "b2")
	w.waitState(t, 10*time.Second, map[string]any{"state": "idle"})
	if r := b.send(map[string]any{"id": "j", "action": "join", "channel": "bad-cmds"}); !r.OK {
		t.Fatalf("join: %+v", r)
	}
	before := w.waitState(t, 5*time.Second, map[string]any{"state": "joined"})
	_, n0 := w.snapshot()

	big := `{"id":"big","action":"join","channel":"x","token":"` + strings.Repeat("a", 70*1024) + `"}`
	cases := []struct {
		id, payload, code string
	}{
		{"", `{not json`, "invalid_json"},
		{"big", big, "invalid_argument"}, // its id is not read: null
		{"t1", `{"id":"t1","action":"join","channel":5}`, "invalid_argument"},
		{"t2", `{"id":"t2","action":"set_gain","gain_db":"loud"}`, "invalid_argument"},
		{"t3", `{"id":"t3","action":"dance"}`, "unknown_action"},
		{"t4", `{"id":"t4","action":"join"}`, "invalid_argument"},
		{"t5", `{"id":"t5","action":"join","channel":"a/b"}`, "invalid_argument"},
		{"t6", `{"id":"t6","action":"set_role","role":"dj"}`, "invalid_argument"},
		{"t7", `{"id":"t7","action":"set_gain","gain_db":99}`, "invalid_argument"},
		{"t8", `{"id":"t8","action":"leave","expires_at":"2020-01-01T00:00:00Z"}`, "expired"},
	}
	for _, c := range cases {
		w.publish(t, "b2", []byte(c.payload))
	}
	// Commands are handled in order: once this one is answered, so are
	// those before it.
	w.publish(t, "b2", []byte(`{"id":"marker","action":"status"}`))
	waitfor.Cond(t, 15*time.Second, func() bool { return len(w.repliesTo("marker")) > 0 }, "the reply to the status after the bad commands")
	// Without a readable id (not JSON, too large to read) the reply's id is
	// null: those two share the empty id.
	if got := w.repliesTo(""); len(got) != 2 {
		t.Errorf("%d replies with a null id, want 2 (not JSON, oversized)", len(got))
	}
	for _, c := range cases {
		got := w.repliesTo(c.id)
		if c.id == "" || c.id == "big" {
			continue
		}
		if len(got) != 1 {
			t.Errorf("%.40s: %d replies, want exactly 1", c.payload, len(got))
			continue
		}
		if got[0].OK || got[0].Error == nil || got[0].Error.Code != c.code {
			t.Errorf("%.40s: reply %+v, want error %s", c.payload, got[0], c.code)
		}
	}
	after, n1 := w.snapshot()
	if n1 != n0 || fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("state changed by bad commands: %v → %v (%d → %d publications)", before, after, n0, n1)
	}
	tr.waitMembers(t, "bad-cmds", 10*time.Second, 0, "b2")
}

// TestAgentJoinSupersededByLeave: a leave sent right behind a join ends
// idle, and both get their reply.
func TestAgentJoinSupersededByLeave(t *testing.T) {
	t.Parallel()
	m := mqtttest.Start(t, mqtttest.TestDir(t), "allow_anonymous true")
	tr := loopbackRelay(t, nil)
	w := watch(t, m.URL("tcp"), "b3")
	newBoard(t, m, tr, "b3")
	w.waitState(t, 10*time.Second, map[string]any{"state": "idle"})
	w.publish(t, "b3", []byte(`{"id":"j1","action":"join","channel":"quick"}`))
	w.publish(t, "b3", []byte(`{"id":"l1","action":"leave"}`))
	w.publish(t, "b3", []byte(`{"id":"s1","action":"status"}`))
	waitfor.Cond(t, 15*time.Second, func() bool {
		return len(w.repliesTo("j1")) > 0 && len(w.repliesTo("l1")) > 0 && len(w.repliesTo("s1")) > 0
	}, "the replies to join, leave and status")
	if n := len(w.repliesTo("j1")); n != 1 {
		t.Errorf("join: %d replies, want 1", n)
	}
	if r := w.repliesTo("l1"); len(r) != 1 || !r[0].OK {
		t.Errorf("leave: replies %+v, want one ok", r)
	}
	w.waitState(t, 10*time.Second, map[string]any{"state": "idle"})
	tr.waitMembers(t, "quick", 10*time.Second, 0)
}

// TestAgentSurvivesKillAndRestarts: a board killed with SIGKILL while
// joined (a power cut) is back in its channel after starting again (how
// soon is logged; BenchmarkCommandReply measures join to RTP); Mosquitto
// restarted → the agent reconnects and republishes its state; the relay
// restarted → the agent rejoins.
//
// Not parallel: Mosquitto and the relay restart on their ports, which a
// parallel test could take meanwhile.
func TestAgentSurvivesKillAndRestarts(t *testing.T) {
	m := mqtttest.Start(t, mqtttest.TestDir(t), "allow_anonymous true")
	tr := loopbackRelay(t, nil)
	w := watch(t, m.URL("tcp"), "b4")
	b := newBoard(t, m, tr, "b4")
	w.waitState(t, 10*time.Second, map[string]any{"state": "idle"})
	if r := b.send(map[string]any{"id": "j", "action": "join", "channel": "persist"}); !r.OK {
		t.Fatalf("join: %+v", r)
	}
	tr.waitMembers(t, "persist", 5*time.Second, 0, "b4")

	info, err := tr.channel("persist")
	if err != nil || len(info.Hosts) != 1 {
		t.Fatalf("channel before the kill: %+v, %v", info, err)
	}
	oldSince := info.Hosts[0].Since
	b.kill()
	start := time.Now()
	b.start()
	// back: a new session of b4 (a later "since") is the channel's host
	if !waitfor.Poll(30*time.Second, func() bool {
		info, err = tr.channel("persist")
		return err == nil && len(info.Hosts) == 1 && info.Hosts[0].UID == "b4" && info.Hosts[0].Since != oldSince
	}) {
		t.Fatalf("b4 not back in the channel 30 s after the restart: %+v, %v", info, err)
	}
	w.waitState(t, 15*time.Second, map[string]any{"state": "joined", "channel": "persist"})
	t.Logf("back in the channel %s after the restart", time.Since(start).Round(time.Millisecond))

	// Mosquitto restarts with nothing retained: the agent republishes.
	_, n0 := w.snapshot()
	m.Restart()
	waitfor.Cond(t, 30*time.Second, func() bool { _, n := w.snapshot(); return n != n0 }, "the state republished")
	w.waitState(t, 10*time.Second, map[string]any{"state": "joined", "channel": "persist"})
	if r := b.send(map[string]any{"id": "s", "action": "status"}); !r.OK {
		t.Errorf("status after broker restart: %+v", r)
	}

	// The relay restarts on the same port: the agent rejoins.
	addr := tr.addr
	tr.Stop(t)
	tr2 := startRelayConfig(t, addr, loopbackRelayConfig(nil))
	tr2.waitMembers(t, "persist", 20*time.Second, 0, "b4")
	w.waitState(t, 15*time.Second, map[string]any{"state": "joined"})
}
