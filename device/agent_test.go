package device

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/onair-dev/onair/session"
	"github.com/onair-dev/onair/uplink"
)

// joinHost joins lobby as host and connects the session.
func joinHost(t *testing.T, h *harness) *fakeSession {
	t.Helper()
	id := h.send(`{"action":"join","channel":"lobby","token":"tok-1","uid":"7"}`)
	f := h.ss.next(t)
	f.connect()
	if r := h.pub.reply(t, id); !r.OK {
		t.Fatalf("join: %+v", r.Error)
	}
	h.pub.awaitState(t, "joined")
	return f
}

// TestAgentBadCommands: every malformed, oversized, wrong-typed, unknown,
// expired or out-of-place command gets exactly one error reply with its id
// (null when it has none) and the right code, and the state stays as it
// was: nothing is published on the state topic.
func TestAgentBadCommands(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	joinHost(t, h)
	h.sync()
	statesBefore := len(h.pub.all("state"))
	lastBefore := h.pub.all("state")[statesBefore-1].payload

	for _, c := range []struct {
		name, payload, id string
		code              Code
	}{
		{"not json", `{"id":"b1","action":`, "", CodeInvalidJSON},
		{"not utf-8", "{\"id\":\"b2\",\"action\":\"status\xff\"}", "", CodeInvalidJSON},
		{"oversized", `{"id":"b3","action":"status","reply_to":"` + strings.Repeat("x", MaxCommandSize) + `"}`, "", CodeInvalidArgument},
		{"array", `["join"]`, "", CodeInvalidArgument},
		{"no id", `{"action":"leave"}`, "", CodeInvalidArgument},
		{"empty id", `{"id":"","action":"leave"}`, "", CodeInvalidArgument},
		{"numeric id", `{"id":5,"action":"leave"}`, "", CodeInvalidArgument},
		{"unknown action", `{"id":"b4","action":"explode"}`, "b4", CodeUnknownAction},
		{"no action", `{"id":"b5"}`, "b5", CodeInvalidArgument},
		{"unknown field", `{"id":"b6","action":"leave","force":true}`, "b6", CodeInvalidArgument},
		{"field not taken", `{"id":"b7","action":"leave","channel":"x"}`, "b7", CodeInvalidArgument},
		{"join without channel", `{"id":"b8","action":"join"}`, "b8", CodeInvalidArgument},
		{"bad channel", `{"id":"b9","action":"join","channel":"a/b"}`, "b9", CodeInvalidArgument},
		{"channel number", `{"id":"b10","action":"join","channel":7}`, "b10", CodeInvalidArgument},
		{"bad role", `{"id":"b11","action":"set_role","role":"dj"}`, "b11", CodeInvalidArgument},
		{"gain string", `{"id":"b12","action":"set_gain","gain_db":"3"}`, "b12", CodeInvalidArgument},
		{"gain too high", `{"id":"b13","action":"set_gain","gain_db":41}`, "b13", CodeInvalidArgument},
		{"gain missing", `{"id":"b14","action":"set_gain"}`, "b14", CodeInvalidArgument},
		{"token missing", `{"id":"b15","action":"renew_token"}`, "b15", CodeInvalidArgument},
		{"token with newline", `{"id":"b16","action":"renew_token","token":"a\nb"}`, "b16", CodeInvalidArgument},
		{"bad expires_at", `{"id":"b17","action":"leave","expires_at":"tomorrow"}`, "b17", CodeInvalidArgument},
		{"expired", `{"id":"b18","action":"leave","expires_at":"2001-01-01T00:00:00Z"}`, "b18", CodeExpired},
		{"reply_to wildcard", `{"id":"b19","action":"status","reply_to":"a/+/b"}`, "b19", CodeInvalidArgument},
		{"join another channel, expired", `{"id":"b20","action":"join","channel":"other","expires_at":"2020-05-01T10:00:00+02:00"}`, "b20", CodeExpired},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(h.pub.replies(t, c.id))
			h.a.Command("onair/d1/cmd", []byte(c.payload))
			h.sync()
			got := h.pub.replies(t, c.id)
			if len(got) != before+1 {
				t.Fatalf("%d replies with id %q, want 1 more than %d", len(got), c.id, before)
			}
			r := got[len(got)-1]
			if r.OK || r.Error == nil || r.Error.Code != c.code || r.State != nil {
				t.Fatalf("reply ok=%v error=%+v, want %s", r.OK, r.Error, c.code)
			}
			if r.topic != "onair/d1/reply" {
				t.Errorf("reply on %q", r.topic)
			}
		})
	}
	if n := len(h.pub.all("state")); n != statesBefore {
		t.Errorf("state published %d times by bad commands", n-statesBefore)
	}
	if last := h.pub.all("state")[statesBefore-1].payload; !bytes.Equal(last, lastBefore) {
		t.Errorf("state changed: %s", last)
	}
	if h.ss.count() != 1 {
		t.Errorf("%d sessions, want 1", h.ss.count())
	}
}

// TestAgentEveryActionAnsweredOnce: each action, valid, gets exactly one
// reply with its id; a reply_to routes the reply.
func TestAgentEveryActionAnsweredOnce(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	cmds := []string{
		`{"action":"status"}`,
		`{"action":"mute"}`,
		`{"action":"set_role","role":"audience"}`, // not_joined
		`{"action":"join","channel":"lobby","reply_to":"ops/replies/1"}`,
		`{"action":"set_gain","gain_db":-6.5}`,
		`{"action":"unmute"}`,
		`{"action":"set_role","role":"audience"}`,
		`{"action":"renew_token","token":"fresh.token.x"}`,
		`{"action":"leave"}`,
	}
	var ids []string
	f := (*fakeSession)(nil)
	for _, c := range cmds {
		ids = append(ids, h.send(c))
		if strings.Contains(c, `"join"`) {
			f = h.ss.next(t)
			f.connect()
		}
	}
	h.sync()
	for i, id := range ids {
		h.pub.reply(t, id)
		if n := len(h.pub.replies(t, id)); n != 1 {
			t.Errorf("%s (%s): %d replies", id, cmds[i], n)
		}
	}
	if r := h.pub.replies(t, ids[2])[0]; r.OK || r.Error.Code != CodeNotJoined {
		t.Errorf("set_role while idle: %+v", r.Error)
	}
	if r := h.pub.replies(t, ids[3])[0]; r.topic != "ops/replies/1" || !r.OK {
		t.Errorf("join reply on %q ok=%v", r.topic, r.OK)
	}
	if got := f.setRoles(); len(got) != 1 || got[0] != RoleAudience {
		t.Errorf("SetRole calls %v", got)
	}
	f.mu.Lock()
	muted, gains := f.muted, f.gains
	f.mu.Unlock()
	// At start: SetMuted(true) (muted while idle), SetGain(0); then unmute and -6.5.
	if fmt.Sprint(muted) != "[true false]" || fmt.Sprint(gains) != "[0 -6.5]" {
		t.Errorf("SetMuted %v, SetGain %v", muted, gains)
	}
	if s := h.pub.awaitState(t, "idle"); s.Channel != nil || s.Muted {
		t.Errorf("final state %+v", s)
	}
}

// TestAgentJoinSupersededByLeave: a leave while joining answers the join
// unavailable ("superseded by …"), tears the session down and ends idle
// with the leave answered ok.
func TestAgentJoinSupersededByLeave(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	join := h.send(`{"action":"join","channel":"lobby"}`)
	f := h.ss.next(t)
	h.pub.awaitState(t, "joining")
	leave := h.send(`{"action":"leave"}`)
	jr := h.pub.reply(t, join)
	if jr.OK || jr.Error.Code != CodeUnavailable || jr.Error.Message != "superseded by "+leave {
		t.Fatalf("join reply %+v", jr.Error)
	}
	lr := h.pub.reply(t, leave)
	if !lr.OK {
		t.Fatalf("leave reply %+v", lr.Error)
	}
	select {
	case <-f.ended:
	default:
		t.Fatal("leave answered before the session ended")
	}
	s := h.pub.awaitState(t, "idle")
	if s.Channel != nil || s.Role != nil || len(s.Hosts) != 0 || s.Error != nil {
		t.Errorf("idle state %+v", s)
	}
	h.sync()
	if len(h.pub.replies(t, join)) != 1 || len(h.pub.replies(t, leave)) != 1 {
		t.Error("a command answered twice")
	}
}

// TestAgentJoinSupersededByJoin: a join while joining another channel
// answers the first unavailable and joins the second, one session at a
// time.
func TestAgentJoinSupersededByJoin(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	first := h.send(`{"action":"join","channel":"a"}`)
	fa := h.ss.next(t)
	second := h.send(`{"action":"join","channel":"b","role":"audience"}`)
	if r := h.pub.reply(t, first); r.OK || r.Error.Message != "superseded by "+second {
		t.Fatalf("first join reply %+v", r.Error)
	}
	fb := h.ss.next(t)
	select {
	case <-fa.ended:
	default:
		t.Fatal("second session started before the first ended")
	}
	if fb.cfg.Channel != "b" || fb.cfg.Role != RoleAudience {
		t.Fatalf("second session %q %s", fb.cfg.Channel, fb.cfg.Role)
	}
	fb.connect()
	if r := h.pub.reply(t, second); !r.OK {
		t.Fatalf("second join %+v", r.Error)
	}
	s := h.pub.awaitState(t, "joined")
	if *s.Channel != "b" || *s.Role != "audience" || s.Publishing {
		t.Errorf("state %+v", s)
	}
}

// TestAgentRepeatJoin: joining the channel the board is in, in the same
// role, is an ok no-op: no new session, no state change.
func TestAgentRepeatJoin(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	joinHost(t, h)
	states := len(h.pub.all("state"))
	h.ok(`{"action":"join","channel":"lobby"}`)
	h.ok(`{"action":"join","channel":"lobby","role":"host","token":"tok-1","uid":"7"}`)
	h.ss.none(t, 50*time.Millisecond)
	if n := len(h.pub.all("state")); n != states {
		t.Errorf("state published %d more times", n-states)
	}
	// Another role in the same channel is a role switch, not a new session.
	h.ok(`{"action":"join","channel":"lobby","role":"audience"}`)
	h.ss.none(t, 50*time.Millisecond)
}

// TestAgentSetRole: host → audience → host switches the live session with
// SetRole; every switch is answered when the new role is connected.
func TestAgentSetRole(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	f := joinHost(t, h)
	h.ok(`{"action":"set_role","role":"audience"}`)
	if s := h.pub.awaitState(t, "joined"); *s.Role != "audience" || s.Publishing {
		t.Errorf("state %+v", s)
	}
	h.ok(`{"action":"set_role","role":"audience"}`) // no-op
	h.ok(`{"action":"set_role","role":"host"}`)
	if s := h.pub.awaitState(t, "joined"); *s.Role != "host" || !s.Publishing {
		t.Errorf("state %+v", s)
	}
	if got := f.setRoles(); fmt.Sprint(got) != "[audience host]" {
		t.Errorf("SetRole calls %v", got)
	}
	h.ss.none(t, 50*time.Millisecond)
}

// TestAgentSetRoleFailureRestarts: a SetRole that fails leaves the
// session's role unknown, so the session is started again in the desired
// role, and the set_role is answered when that one connects.
func TestAgentSetRoleFailureRestarts(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	f := joinHost(t, h)
	f.mu.Lock()
	f.setRole = func(context.Context, Role) (session.Switch, error) { return session.Switch{}, session.ErrNotRunning }
	f.mu.Unlock()
	id := h.send(`{"action":"set_role","role":"audience"}`)
	g := h.ss.next(t)
	if g.cfg.Role != RoleAudience {
		t.Fatalf("restarted as %s", g.cfg.Role)
	}
	g.connect()
	if r := h.pub.reply(t, id); !r.OK {
		t.Fatalf("set_role %+v", r.Error)
	}
}

// TestAgentUnauthorized: a 401/403 ends the session; the agent reports
// retrying with error unauthorized and does not restart until
// renew_token, which rejoins with the new token.
func TestAgentUnauthorized(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	join := h.send(`{"action":"join","channel":"lobby","token":"old"}`)
	f := h.ss.next(t)
	f.end <- fmt.Errorf("whip: post offer: %w", uplink.ErrUnauthorized)
	r := h.pub.reply(t, join)
	if r.OK || r.Error.Code != CodeUnauthorized {
		t.Fatalf("join reply %+v", r.Error)
	}
	s := h.pub.awaitState(t, "retrying")
	if s.Error == nil || s.Error.Code != CodeUnauthorized || *s.Channel != "lobby" {
		t.Fatalf("state %+v", s)
	}
	if len(h.pub.events(t, "error")) == 0 {
		t.Error("no error event")
	}
	h.ss.none(t, 200*time.Millisecond) // no retry loop (retry_min is 20ms)
	h.fails(`{"action":"set_gain","gain_db":100}`, CodeInvalidArgument)

	renew := h.send(`{"action":"renew_token","token":"new"}`)
	g := h.ss.next(t)
	if g.cfg.Token != "new" || g.cfg.Channel != "lobby" {
		t.Fatalf("rejoined with %q on %q", g.cfg.Token, g.cfg.Channel)
	}
	g.connect()
	if r := h.pub.reply(t, renew); !r.OK {
		t.Fatalf("renew reply %+v", r.Error)
	}
	if s := h.pub.awaitState(t, "joined"); s.Error != nil {
		t.Errorf("joined with error %+v", s.Error)
	}

	// A token renewed while joined is used when the old one is refused.
	h.ok(`{"action":"renew_token","token":"newer"}`)
	h.ss.none(t, 50*time.Millisecond)
	g.end <- uplink.ErrUnauthorized
	k := h.ss.next(t)
	if k.cfg.Token != "newer" {
		t.Fatalf("restarted with %q", k.cfg.Token)
	}
}

// TestAgentSessionLost: uplink retrying is reported with its error, and
// joined again when it reconnects; a session that ends by itself is
// restarted after a backoff.
func TestAgentSessionLost(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	f := joinHost(t, h)
	f.cfg.OnState(RoleHost, uplink.StateRetrying, fmt.Errorf("ice failed: %w", uplink.ErrSessionLost))
	s := h.pub.awaitState(t, "retrying")
	if s.Error == nil || s.Error.Code != CodeUnavailable || !strings.Contains(s.Error.Message, "ice failed") {
		t.Fatalf("state %+v", s)
	}
	f.connect()
	h.pub.awaitState(t, "joined")

	f.end <- errTest
	h.pub.awaitState(t, "retrying")
	g := h.ss.next(t)
	if g.cfg.Channel != "lobby" || g.cfg.Token != "tok-1" || g.cfg.UID != "7" {
		t.Fatalf("restarted session %+v", g.cfg)
	}
	g.connect()
	h.pub.awaitState(t, "joined")
	if len(h.pub.events(t, "connection-state")) < 3 {
		t.Error("connection-state events missing")
	}
}

// TestAgentJoinTimeout: a join not connected after JoinTimeout is
// answered unavailable; the session keeps trying and joins later.
func TestAgentJoinTimeout(t *testing.T) {
	h := newHarness(t, harnessOpts{cfg: func(c *AgentConfig) { c.JoinTimeout = 50 * time.Millisecond }})
	id := h.send(`{"action":"join","channel":"lobby"}`)
	f := h.ss.next(t)
	r := h.pub.reply(t, id)
	if r.OK || r.Error.Code != CodeUnavailable || !strings.Contains(r.Error.Message, "still trying") {
		t.Fatalf("reply %+v", r.Error)
	}
	f.connect()
	h.pub.awaitState(t, "joined")
	h.sync()
	if n := len(h.pub.replies(t, id)); n != 1 {
		t.Errorf("%d replies", n)
	}
}

// TestAgentNewSessionFails: a session that cannot be created is answered
// at once and retried.
func TestAgentNewSessionFails(t *testing.T) {
	ss := newSessions()
	ss.fail = errTest
	h := newHarness(t, harnessOpts{ss: ss})
	r := h.fails(`{"action":"join","channel":"lobby"}`, CodeUnavailable)
	if !strings.Contains(r.Error.Message, "test failure") {
		t.Errorf("message %q", r.Error.Message)
	}
	h.pub.awaitState(t, "retrying")
}

// TestAgentDesiredSurvivesPowerLoss: every accepted change is on disk at
// once; a new agent on the same state directory (the board after a power
// cut) rejoins the same channel, role, token and uid, muted as it was.
func TestAgentDesiredSurvivesPowerLoss(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, harnessOpts{dir: dir, autojoin: &Desired{Channel: "demo", Role: RoleHost}})
	f := h.ss.next(t)
	if f.cfg.Channel != "demo" || f.cfg.UID != "d1" {
		t.Fatalf("autojoin %q uid %q", f.cfg.Channel, f.cfg.UID)
	}
	f.connect()
	h.pub.awaitState(t, "joined")
	if _, err := os.Stat(filepath.Join(dir, DesiredFile)); err == nil {
		t.Fatal("autojoin written before any change")
	}
	h.send(`{"action":"join","channel":"lobby","role":"audience","token":"tok-9","uid":"u9"}`)
	h.ss.next(t).connect()
	h.ok(`{"action":"mute"}`)
	h.ok(`{"action":"set_gain","gain_db":6}`)
	want := Desired{Channel: "lobby", Role: RoleAudience, Token: "tok-9", UID: "u9", Muted: true, GainDB: 6}
	if d, err := loadDesired(dir); err != nil || d != want {
		t.Fatalf("on disk %+v, %v; want %+v", d, err, want)
	}
	fi, err := os.Stat(filepath.Join(dir, DesiredFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("desired file %v, %v", fi, err)
	}

	// Power cut: the first agent never leaves; a second one starts on dir.
	h2 := newHarness(t, harnessOpts{dir: dir, autojoin: &Desired{Channel: "demo", Role: RoleHost}})
	g := h2.ss.next(t)
	if g.cfg.Channel != "lobby" || g.cfg.Role != RoleAudience || g.cfg.Token != "tok-9" || g.cfg.UID != "u9" {
		t.Fatalf("rejoined %+v", g.cfg)
	}
	g.mu.Lock()
	muted, gains := fmt.Sprint(g.muted), fmt.Sprint(g.gains)
	g.mu.Unlock()
	if muted != "[true]" || gains != "[6]" || g.cfg.Audio.GainDB != 6 {
		t.Errorf("muted %s gains %s", muted, gains)
	}
	g.connect()
	s := h2.pub.awaitState(t, "joined")
	if !s.Muted || *s.Channel != "lobby" {
		t.Errorf("state %+v", s)
	}

	// A leave is remembered too: a third agent stays idle (no autojoin).
	h2.ok(`{"action":"leave"}`)
	h3 := newHarness(t, harnessOpts{dir: dir, autojoin: &Desired{Channel: "demo", Role: RoleHost}})
	h3.pub.awaitState(t, "idle")
	h3.ss.none(t, 50*time.Millisecond)
}

// TestAgentCorruptDesired: a corrupt desired.json is moved aside to
// desired.json.bad; the agent starts idle and says so in an error event.
func TestAgentCorruptDesired(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DesiredFile)
	if err := os.WriteFile(path, []byte(`{"version":1,"channel":`), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOpts{dir: dir, autojoin: &Desired{Channel: "demo", Role: RoleHost}})
	h.pub.awaitState(t, "idle")
	h.ss.none(t, 50*time.Millisecond)
	if b, err := os.ReadFile(path + ".bad"); err != nil || string(b) != `{"version":1,"channel":` {
		t.Errorf("bad file %q, %v", b, err)
	}
	h.pub.await(t, "error event", func() bool { return len(h.pub.events(t, "error")) == 1 })
	if d, err := loadDesired(dir); err != nil || d.Joined() {
		t.Errorf("after: %+v, %v", d, err)
	}
}

// TestAgentShutdown: ending Run's context leaves (the session's Run
// cancelled, so its DELETE is sent), publishes idle, keeps the desired
// state on disk, and every goroutine of the agent ends.
func TestAgentShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	h := newHarness(t, harnessOpts{dir: dir})
	f := joinHost(t, h)
	h.ok(`{"action":"set_role","role":"audience"}`)
	pending := h.send(`{"action":"join","channel":"elsewhere"}`)
	h.ss.next(t) // elsewhere, never connected
	if err := h.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	select {
	case <-f.ended:
	default:
		t.Fatal("session still running")
	}
	if r := h.pub.replies(t, pending); len(r) != 1 || r[0].Error.Code != CodeUnavailable {
		t.Errorf("pending join answered %+v", r)
	}
	if s := h.pub.state(t); s.State != "idle" {
		t.Errorf("final state %+v", s)
	}
	if d, err := loadDesired(dir); err != nil || d.Channel != "elsewhere" {
		t.Errorf("desired after shutdown %+v, %v", d, err)
	}
	// After Run, a command is still answered, unavailable.
	h.a.Command("t", []byte(`{"id":"late","action":"status"}`))
	if r := h.pub.reply(t, "late"); r.Error == nil || r.Error.Code != CodeUnavailable {
		t.Errorf("late command answered %+v", r)
	}
	if g := settleGoroutines(before); g > before {
		t.Errorf("%d goroutines after Run, %d before", g, before)
	}
}

// TestAgentStreamsAndMic: session events reach the events topic; stream
// events keep the state's hosts, which are reported removed when the
// session ends.
func TestAgentStreamsAndMic(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.send(`{"action":"join","channel":"lobby","role":"audience"}`)
	f := h.ss.next(t)
	f.connect()
	h.pub.awaitState(t, "joined")
	f.cfg.OnEvent(session.Event{Name: session.EventStreamAdded, UID: "0"})
	f.cfg.OnEvent(session.Event{Name: session.EventStreamAdded, UID: "1"})
	h.pub.await(t, "hosts", func() bool { s := h.pub.state(t); return len(s.Hosts) == 2 })
	f.cfg.OnEvent(session.Event{Name: session.EventStreamRemoved, UID: "0"})
	h.pub.await(t, "host removed", func() bool { return fmt.Sprint(h.pub.state(t).Hosts) == "[1]" })
	f.cfg.OnEvent(session.Event{Name: session.EventMicLost, Err: errTest})
	f.cfg.OnEvent(session.Event{Name: session.EventMicRestored})
	h.ok(`{"action":"leave"}`)
	if s := h.pub.awaitState(t, "idle"); len(s.Hosts) != 0 {
		t.Errorf("hosts after leave %v", s.Hosts)
	}
	added, removed := h.pub.events(t, "stream-added"), h.pub.events(t, "stream-removed")
	if len(added) != 2 || len(removed) != 2 || added[0]["uid"] != "0" || removed[1]["uid"] != "1" {
		t.Errorf("added %v removed %v", added, removed)
	}
	if lost := h.pub.events(t, "mic-lost"); len(lost) != 1 || lost[0]["message"] != "test failure" || lost[0]["ts"] == "" {
		t.Errorf("mic-lost %v", lost)
	}
	if len(h.pub.events(t, "mic-restored")) != 1 {
		t.Error("no mic-restored")
	}
}

// TestAgentTokenWillExpire: a JWT whose exp is within five minutes is
// announced once.
func TestAgentTokenWillExpire(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	exp := time.Now().Add(2 * time.Minute).Unix()
	tok := testJWT(t, fmt.Sprintf(`{"exp":%d,"channel":"lobby"}`, exp))
	h.send(`{"action":"join","channel":"lobby","token":"` + tok + `"}`)
	h.ss.next(t).connect()
	h.pub.await(t, "token-will-expire", func() bool { return len(h.pub.events(t, "token-will-expire")) == 1 })
	h.ok(`{"action":"renew_token","token":"` + tok + `"}`) // the same token: no second warning
	h.sync()
	ev := h.pub.events(t, "token-will-expire")
	if len(ev) != 1 || ev[0]["expires_at"] != time.Unix(exp, 0).UTC().Format(time.RFC3339) {
		t.Errorf("events %v", ev)
	}
}

// TestAgentReconnectRepublishes: Connected republishes the retained state.
func TestAgentReconnectRepublishes(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.pub.awaitState(t, "idle")
	n := len(h.pub.all("state"))
	h.a.Disconnected(errTest)
	h.a.Connected()
	h.pub.await(t, "republished state", func() bool { return len(h.pub.all("state")) == n+1 })
}

// TestAgentConfigValidation: NewAgent refuses what it cannot run with.
func TestAgentConfigValidation(t *testing.T) {
	pub := newFakePublisher()
	for _, c := range []AgentConfig{
		{Publisher: pub},
		{DeviceID: "a/b", Publisher: pub},
		{DeviceID: "d", UID: "a\x00b", Publisher: pub},
		{DeviceID: "d", Token: "not a token", Publisher: pub},
		{DeviceID: "d"},
		{DeviceID: "d", Publisher: pub, Autojoin: &Desired{Channel: "x"}},
	} {
		if _, err := NewAgent(c); err == nil {
			t.Errorf("NewAgent(%+v) succeeded", c)
		}
	}
}

// TestAgentLeaveTimeout: a session that does not end when cancelled makes
// Run return an error after LeaveTimeout instead of hanging.
func TestAgentLeaveTimeout(t *testing.T) {
	ss := newSessions()
	ss.stuck = true
	h := newHarness(t, harnessOpts{ss: ss, cfg: func(c *AgentConfig) { c.LeaveTimeout = 50 * time.Millisecond }})
	f := joinHost(t, h)
	if err := h.stop(); err == nil || !strings.Contains(err.Error(), "did not end") {
		t.Fatalf("Run: %v", err)
	}
	f.end <- nil // let the stuck session go
	<-f.ended
}
