package device

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/onair-dev/onair/session"
	"github.com/onair-dev/onair/uplink"
)

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{StateUnknown: "unknown", StateIdle: "idle", StateJoining: "joining",
		StateJoined: "joined", StateLeaving: "leaving", StateRetrying: "retrying", State(42): "unknown(42)"} {
		if s.String() != want {
			t.Errorf("%d: %q, want %q", int(s), s, want)
		}
	}
}

// nextStep is one event of a TestNext case and what must follow: the
// state, the replies ("id ok" or "id code") and the effects (see kinds).
type nextStep struct {
	ev      event
	state   State
	replies string
	effects string
}

// kinds names effects compactly: start:GEN, stop:GEN, setrole:ROLE,
// persist, timeout, retry, mute, gain, watch, event:NAME; replies are left
// out (nextStep.replies checks them).
func kinds(effs []effect) (effects, replies string) {
	var e, r []string
	for _, x := range effs {
		switch x := x.(type) {
		case effReply:
			if x.err == nil {
				r = append(r, x.id+" ok")
			} else {
				r = append(r, x.id+" "+string(x.err.Code))
			}
		case effStart:
			e = append(e, fmt.Sprintf("start:%d", x.gen))
		case effStop:
			e = append(e, fmt.Sprintf("stop:%d", x.gen))
		case effSetRole:
			e = append(e, "setrole:"+x.role.String())
		case effPersist:
			e = append(e, "persist")
		case effTimeout:
			e = append(e, "timeout")
		case effRetry:
			e = append(e, "retry")
		case effMute:
			e = append(e, "mute")
		case effGain:
			e = append(e, "gain")
		case effWatchToken:
			e = append(e, "watch")
		case effEvent:
			e = append(e, "event:"+x.e.Event)
		default:
			e = append(e, fmt.Sprintf("%T", x))
		}
	}
	return strings.Join(e, " "), strings.Join(r, ", ")
}

// cmd parses a command for a TestNext case; a refused one becomes the
// evCommand the agent would build.
func cmd(payload string) evCommand {
	c, err := ParseCommand([]byte(payload))
	var ce *CommandError
	errors.As(err, &ce)
	return evCommand{cmd: c, err: ce}
}

func up(gen uint64, r Role, st uplink.State) evUplink {
	return evUplink{gen: gen, role: r, state: st}
}

var testNow = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func testMachine() machine {
	return newMachine(machineConfig{device: "d1", version: "v1", token: "cfg", uid: "d1", joinTimeout: 10 * time.Second})
}

// TestNext drives the pure state machine through event sequences, with no
// goroutine and no clock.
func TestNext(t *testing.T) {
	const (
		joinLobby = `{"id":"j","action":"join","channel":"lobby"}`
		leave     = `{"id":"l","action":"leave"}`
	)
	start := evStart{want: Desired{}}
	joined := []nextStep{
		{start, StateIdle, "", ""},
		{cmd(joinLobby), StateJoining, "", "timeout start:1 persist watch"},
		{up(1, RoleHost, uplink.StateConnected), StateJoined, "j ok", "event:connection-state"},
	}
	for _, c := range []struct {
		name  string
		steps []nextStep
	}{
		{"join then connected", joined},
		{"start rejoins the stored channel", []nextStep{
			{evStart{want: Desired{Channel: "lobby", Role: RoleAudience}}, StateJoining, "", "start:1 watch"},
			{up(1, RoleAudience, uplink.StateConnecting), StateJoining, "", "event:connection-state"},
			{up(1, RoleAudience, uplink.StateConnected), StateJoined, "", "event:connection-state"},
		}},
		{"leave while joining ends idle with both replies", []nextStep{
			{start, StateIdle, "", ""},
			{cmd(joinLobby), StateJoining, "", "timeout start:1 persist watch"},
			{cmd(leave), StateLeaving, "j unavailable", "timeout stop:1 persist watch"},
			{up(1, RoleHost, uplink.StateConnected), StateLeaving, "", "event:connection-state"},
			{evEnded{gen: 1}, StateIdle, "l ok", ""},
		}},
		{"join supersedes join; one session at a time", []nextStep{
			{start, StateIdle, "", ""},
			{cmd(`{"id":"a","action":"join","channel":"a"}`), StateJoining, "", "timeout start:1 persist watch"},
			{cmd(`{"id":"b","action":"join","channel":"b"}`), StateJoining, "a unavailable", "timeout stop:1 persist"},
			{cmd(`{"id":"c","action":"join","channel":"c","token":"t2"}`), StateJoining, "b unavailable", "timeout persist watch"},
			{evEnded{gen: 1}, StateJoining, "", "start:2"},
			{up(2, RoleHost, uplink.StateConnected), StateJoined, "c ok", "event:connection-state"},
		}},
		{"repeat join is a no-op", append(joined[:3:3],
			nextStep{cmd(`{"id":"j2","action":"join","channel":"lobby","role":"host","token":"cfg","uid":"d1"}`), StateJoined, "j2 ok", ""},
			nextStep{cmd(`{"id":"j3","action":"join","channel":"lobby"}`), StateJoined, "j3 ok", ""},
		)},
		{"join in another role is a role switch", append(joined[:3:3],
			nextStep{cmd(`{"id":"j2","action":"join","channel":"lobby","role":"audience"}`), StateJoining, "", "timeout setrole:audience persist"},
			nextStep{evSwitched{gen: 1, seq: 2}, StateJoined, "j2 ok", ""},
		)},
		{"set_role switches live", append(joined[:3:3],
			nextStep{cmd(`{"id":"r1","action":"set_role","role":"audience"}`), StateJoining, "", "timeout setrole:audience persist"},
			nextStep{up(1, RoleHost, uplink.StateClosed), StateJoining, "", "event:connection-state"},
			nextStep{up(1, RoleAudience, uplink.StateConnected), StateJoining, "", "event:connection-state"},
			nextStep{evSwitched{gen: 1, seq: 2}, StateJoined, "r1 ok", ""},
			nextStep{cmd(`{"id":"r2","action":"set_role","role":"audience"}`), StateJoined, "r2 ok", ""},
			nextStep{cmd(`{"id":"r3","action":"set_role","role":"host"}`), StateJoining, "", "timeout setrole:host persist"},
			nextStep{evSwitched{gen: 1, seq: 3}, StateJoined, "r3 ok", ""},
		)},
		{"a failed switch restarts the session in the desired role", append(joined[:3:3],
			nextStep{cmd(`{"id":"r1","action":"set_role","role":"audience"}`), StateJoining, "", "timeout setrole:audience persist"},
			nextStep{evSwitched{gen: 1, seq: 2, err: session.ErrNotRunning}, StateJoining, "", "stop:1"},
			nextStep{evEnded{gen: 1}, StateJoining, "", "start:2"},
			nextStep{up(2, RoleAudience, uplink.StateConnected), StateJoined, "r1 ok", "event:connection-state"},
		)},
		{"unauthorized waits for renew_token", []nextStep{
			{start, StateIdle, "", ""},
			{cmd(joinLobby), StateJoining, "", "timeout start:1 persist watch"},
			{evEnded{gen: 1, err: fmt.Errorf("post: %w", uplink.ErrUnauthorized)}, StateRetrying, "j unauthorized", "event:error"},
			{evRetry{seq: 1}, StateRetrying, "", ""},
			{cmd(`{"id":"m","action":"mute"}`), StateRetrying, "m ok", "persist"},
			{cmd(`{"id":"t","action":"renew_token","token":"new"}`), StateJoining, "", "timeout start:2 persist watch"},
			{up(2, RoleHost, uplink.StateConnected), StateJoined, "t ok", "event:connection-state"},
		}},
		{"a session that ends is restarted after a backoff", append(joined[:3:3],
			nextStep{up(1, RoleHost, uplink.StateRetrying), StateRetrying, "", "event:connection-state"},
			nextStep{evEnded{gen: 1, err: errTest}, StateRetrying, "", "event:error retry"},
			nextStep{evRetry{seq: 1}, StateRetrying, "", ""}, // an older restart
			nextStep{evRetry{seq: 2}, StateRetrying, "", "start:2"},
			nextStep{up(2, RoleHost, uplink.StateConnected), StateJoined, "", "event:connection-state"},
		)},
		{"join timeout answers, the session keeps trying", []nextStep{
			{start, StateIdle, "", ""},
			{cmd(joinLobby), StateJoining, "", "timeout start:1 persist watch"},
			{evTimeout{seq: 1}, StateJoining, "j unavailable", ""},
			{up(1, RoleHost, uplink.StateConnected), StateJoined, "", "event:connection-state"},
		}},
		{"bad and refused commands change nothing", append(joined[:3:3],
			nextStep{cmd(`{"id":"x","action":"join"}`), StateJoined, "x invalid_argument", ""},
			nextStep{cmd(`{"id":"y","action":"fly"}`), StateJoined, "y unknown_action", ""},
			nextStep{cmd(`{"action":"leave"}`), StateJoined, " invalid_argument", ""},
			nextStep{cmd(`{"id":"z","action":"leave","expires_at":"2026-11-24T08:59:59Z"}`), StateJoined, "z expired", ""},
			nextStep{up(7, RoleHost, uplink.StateRetrying), StateJoined, "", ""}, // another session's
			nextStep{evEnded{gen: 7, err: errTest}, StateJoined, "", ""},
			nextStep{evTimeout{seq: 1}, StateJoined, "", ""},
		)},
		{"idle: not_joined, mute and gain kept for later", []nextStep{
			{start, StateIdle, "", ""},
			{cmd(`{"id":"r","action":"set_role","role":"audience"}`), StateIdle, "r not_joined", ""},
			{cmd(`{"id":"t","action":"renew_token","token":"x"}`), StateIdle, "t not_joined", ""},
			{cmd(`{"id":"m","action":"mute"}`), StateIdle, "m ok", "persist"},
			{cmd(`{"id":"m2","action":"mute"}`), StateIdle, "m2 ok", ""},
			{cmd(`{"id":"g","action":"set_gain","gain_db":3}`), StateIdle, "g ok", "persist"},
			{cmd(`{"id":"l","action":"leave"}`), StateIdle, "l ok", ""},
			{cmd(`{"id":"s","action":"status"}`), StateIdle, "s ok", ""},
		}},
		{"mute and gain while joined act on the session", append(joined[:3:3],
			nextStep{cmd(`{"id":"m","action":"mute"}`), StateJoined, "m ok", "mute persist"},
			nextStep{cmd(`{"id":"g","action":"set_gain","gain_db":-6}`), StateJoined, "g ok", "gain persist"},
		)},
		{"shutdown leaves and keeps the desired state", append(joined[:3:3],
			nextStep{cmd(`{"id":"j2","action":"join","channel":"other"}`), StateJoining, "", "timeout stop:1 persist"},
			nextStep{evShutdown{}, StateLeaving, "j2 unavailable", ""},
			nextStep{cmd(`{"id":"late","action":"status"}`), StateLeaving, "late unavailable", ""},
			nextStep{evEnded{gen: 1}, StateIdle, "", ""},
		)},
		{"stream events keep the hosts", []nextStep{
			{evStart{want: Desired{Channel: "lobby", Role: RoleAudience}}, StateJoining, "", "start:1 watch"},
			{evSession{gen: 1, e: session.Event{Name: session.EventStreamAdded, UID: "0"}}, StateJoining, "", "event:stream-added"},
			{evSession{gen: 1, e: session.Event{Name: session.EventStreamRemoved, UID: "3"}}, StateJoining, "", ""},
			{evSession{gen: 1, e: session.Event{Name: session.EventMicLost, Err: errTest}}, StateJoining, "", "event:mic-lost"},
			{evEnded{gen: 1, err: errTest}, StateRetrying, "", "event:stream-removed event:error retry"},
		}},
		{"token-will-expire once per token", []nextStep{
			{evStart{want: Desired{Channel: "lobby", Role: RoleHost, Token: "a"}}, StateJoining, "", "start:1 watch"},
			{evTokenExpiring{token: "a", exp: testNow}, StateJoining, "", "event:token-will-expire"},
			{evTokenExpiring{token: "a", exp: testNow}, StateJoining, "", ""},
			{evTokenExpiring{token: "old", exp: testNow}, StateJoining, "", ""},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := testMachine()
			for i, st := range c.steps {
				before := m
				var effs []effect
				m, effs = next(m, st.ev, testNow)
				gotEff, gotRep := kinds(effs)
				if m.rep.State != st.state || gotRep != st.replies || gotEff != st.effects {
					t.Fatalf("step %d %T: state %s replies %q effects %q; want %s %q %q",
						i, st.ev, m.rep.State, gotRep, gotEff, st.state, st.replies, st.effects)
				}
				if gotEff == "" && !strings.Contains(gotRep, " ok") && m.rep.State == before.rep.State {
					if m.want != before.want || m.sess != before.sess {
						t.Fatalf("step %d %T changed the machine without an effect", i, st.ev)
					}
				}
			}
		})
	}
}

// TestNextPure: next does not modify the machine it is given.
func TestNextPure(t *testing.T) {
	m := testMachine()
	m, _ = next(m, evStart{want: Desired{Channel: "lobby", Role: RoleAudience}}, testNow)
	m, _ = next(m, evSession{gen: 1, e: session.Event{Name: session.EventStreamAdded, UID: "0"}}, testNow)
	m, _ = next(m, cmd(`{"id":"j","action":"join","channel":"lobby","role":"host"}`), testNow)
	snapshot := fmt.Sprintf("%+v %+v %v", m.rep, *m.pending, m.hosts)
	_, _ = next(m, evEnded{gen: 1, err: errTest}, testNow.Add(time.Second))
	_, _ = next(m, evSession{gen: 1, e: session.Event{Name: session.EventStreamAdded, UID: "0"}}, testNow)
	_, _ = next(m, cmd(`{"id":"l","action":"leave"}`), testNow)
	if after := fmt.Sprintf("%+v %+v %v", m.rep, *m.pending, m.hosts); after != snapshot {
		t.Fatalf("machine changed:\n%s\n%s", snapshot, after)
	}
}

// TestNextReported: the reported state's fields follow the machine.
func TestNextReported(t *testing.T) {
	m := testMachine()
	m, _ = next(m, evStart{want: Desired{Channel: "lobby", Role: RoleHost, UID: "7", Muted: true}}, testNow)
	m, _ = next(m, up(1, RoleHost, uplink.StateConnected), testNow.Add(time.Second))
	r := m.rep
	if r.Channel != "lobby" || r.Role != RoleHost || r.UID != "7" || !r.Muted || !r.Publishing ||
		r.Error != nil || !r.Since.Equal(testNow.Add(time.Second)) || r.Device != "d1" || r.Version != "v1" {
		t.Fatalf("reported %+v", r)
	}
	b, err := r.MarshalJSON()
	want := `{"device":"d1","state":"joined","channel":"lobby","role":"host","uid":"7","muted":true,` +
		`"publishing":true,"hosts":[],"error":null,"since":"2026-11-24T09:00:01Z","version":"v1"}`
	if err != nil || string(b) != want {
		t.Fatalf("json %s, %v\nwant %s", b, err, want)
	}
	m, _ = next(m, evEnded{gen: 1, err: uplink.ErrUnauthorized}, testNow)
	b, _ = m.rep.MarshalJSON()
	if !strings.Contains(string(b), `"state":"retrying"`) || !strings.Contains(string(b), `"error":{"code":"unauthorized"`) ||
		m.rep.Publishing {
		t.Fatalf("json %s", b)
	}
	m, _ = next(m, cmd(`{"id":"l","action":"leave"}`), testNow)
	b, _ = m.rep.MarshalJSON()
	if !strings.Contains(string(b), `"state":"idle","channel":null,"role":null,"uid":null`) {
		t.Fatalf("json %s", b)
	}
}
