package device

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCommandParseValid(t *testing.T) {
	exp := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		payload string
		want    Command
	}{
		{`{"id":"c-17","action":"join","channel":"lobby","role":"host","token":"abc.def-_~+/=","uid":"7","expires_at":"2026-11-24T10:00:00Z","reply_to":"ops/r"}`,
			Command{ID: "c-17", Action: ActionJoin, Channel: "lobby", Role: RoleHost, Token: "abc.def-_~+/=", UID: "7", ExpiresAt: exp, ReplyTo: "ops/r"}},
		{`{"id":"1","action":"join","channel":"Lobby 2"}`, Command{ID: "1", Action: ActionJoin, Channel: "Lobby 2", Role: RoleHost}},
		{`{"id":"1","action":"join","channel":"x","role":"audience","token":null,"uid":""}`, Command{ID: "1", Action: ActionJoin, Channel: "x", Role: RoleAudience}},
		{` {"action":"leave","id":"2"} `, Command{ID: "2", Action: ActionLeave}},
		{`{"id":"3","action":"set_role","role":"audience"}`, Command{ID: "3", Action: ActionSetRole, Role: RoleAudience}},
		{`{"id":"4","action":"mute"}`, Command{ID: "4", Action: ActionMute}},
		{`{"id":"5","action":"unmute","channel":null}`, Command{ID: "5", Action: ActionUnmute}},
		{`{"id":"6","action":"set_gain","gain_db":-60}`, Command{ID: "6", Action: ActionSetGain, GainDB: -60}},
		{`{"id":"6","action":"set_gain","gain_db":4e1}`, Command{ID: "6", Action: ActionSetGain, GainDB: 40}},
		{`{"id":"7","action":"renew_token","token":"t"}`, Command{ID: "7", Action: ActionRenewToken, Token: "t"}},
		{`{"id":"8","action":"status","expires_at":"2026-11-24T11:00:00+01:00"}`, Command{ID: "8", Action: ActionStatus, ExpiresAt: exp}},
	} {
		got, err := ParseCommand([]byte(c.payload))
		if err != nil {
			t.Errorf("%s: %v", c.payload, err)
			continue
		}
		if !sameCommand(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.payload, got, c.want)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", c.payload, err)
		}
	}
}

func TestCommandParseErrors(t *testing.T) {
	for _, c := range []struct {
		payload, id, replyTo string
		code                 Code
		inMessage            string
	}{
		{``, "", "", CodeInvalidJSON, "not JSON"},
		{`{"id":"a",}`, "", "", CodeInvalidJSON, "not JSON"},
		{`{"id":"a"} {}`, "", "", CodeInvalidJSON, "not JSON"},
		{"{\"id\":\"\xc3\x28\"}", "", "", CodeInvalidJSON, "UTF-8"},
		{strings.Repeat(" ", MaxCommandSize+1), "", "", CodeInvalidArgument, "at most 65536"},
		{`null`, "", "", CodeInvalidArgument, "JSON object"},
		{`"join"`, "", "", CodeInvalidArgument, "JSON object"},
		{`{}`, "", "", CodeInvalidArgument, "id: required"},
		{`{"id":null,"action":"status"}`, "", "", CodeInvalidArgument, "id: required"},
		{`{"id":["x"],"action":"status"}`, "", "", CodeInvalidArgument, "id: must be a string"},
		{`{"id":"` + strings.Repeat("i", 257) + `","action":"status"}`, "", "", CodeInvalidArgument, "id: 257 bytes"},
		{`{"id":"a","action":"status","reply_to":"r/#"}`, "a", "", CodeInvalidArgument, "reply_to: wildcards"},
		{`{"id":"a","action":"status","reply_to":"$SYS/x"}`, "a", "", CodeInvalidArgument, "reply_to: $ topics"},
		{`{"id":"a","action":"status","reply_to":"r/\u0000"}`, "a", "", CodeInvalidArgument, "reply_to: control"},
		{`{"id":"a","action":"status","reply_to":5}`, "a", "", CodeInvalidArgument, "reply_to: must be a string"},
		{`{"id":"a","action":"status","reply_to":"r/1","Channel":"x"}`, "a", "r/1", CodeInvalidArgument, `"Channel": unknown field`},
		{`{"id":"a","reply_to":"r/1"}`, "a", "r/1", CodeInvalidArgument, "action: required"},
		{`{"id":"a","action":true}`, "a", "", CodeInvalidArgument, "action: must be a string"},
		{`{"id":"a","action":"JOIN"}`, "a", "", CodeUnknownAction, `"JOIN"`},
		{`{"id":"a","action":"dance","channel":"x"}`, "a", "", CodeUnknownAction, "dance"},
		{`{"id":"a","action":"join"}`, "a", "", CodeInvalidArgument, "channel: required by join"},
		{`{"id":"a","action":"join","channel":""}`, "a", "", CodeInvalidArgument, "channel: required by join"},
		{`{"id":"a","action":"join","channel":".."}`, "a", "", CodeInvalidArgument, "channel: invalid channel name"},
		{`{"id":"a","action":"join","channel":"` + strings.Repeat("c", 65) + `"}`, "a", "", CodeInvalidArgument, "channel:"},
		{`{"id":"a","action":"join","channel":{"name":"x"}}`, "a", "", CodeInvalidArgument, "channel: must be a string"},
		{`{"id":"a","action":"join","channel":"x","role":"speaker"}`, "a", "", CodeInvalidArgument, "role:"},
		{`{"id":"a","action":"join","channel":"x","uid":"a/b"}`, "a", "", CodeInvalidArgument, "uid:"},
		{`{"id":"a","action":"join","channel":"x","uid":7}`, "a", "", CodeInvalidArgument, "uid: must be a string"},
		{`{"id":"a","action":"join","channel":"x","token":"a b"}`, "a", "", CodeInvalidArgument, "token:"},
		{`{"id":"a","action":"join","channel":"x","gain_db":1}`, "a", "", CodeInvalidArgument, "gain_db: not taken by join"},
		{`{"id":"a","action":"leave","role":"host"}`, "a", "", CodeInvalidArgument, "role: not taken by leave"},
		{`{"id":"a","action":"set_role"}`, "a", "", CodeInvalidArgument, "role: required by set_role"},
		{`{"id":"a","action":"set_role","role":"host","channel":"x"}`, "a", "", CodeInvalidArgument, "channel: not taken"},
		{`{"id":"a","action":"set_gain"}`, "a", "", CodeInvalidArgument, "gain_db: required"},
		{`{"id":"a","action":"set_gain","gain_db":null}`, "a", "", CodeInvalidArgument, "gain_db: required"},
		{`{"id":"a","action":"set_gain","gain_db":-60.5}`, "a", "", CodeInvalidArgument, "gain_db: must be a number"},
		{`{"id":"a","action":"set_gain","gain_db":"1"}`, "a", "", CodeInvalidArgument, "gain_db: must be a number"},
		{`{"id":"a","action":"set_gain","gain_db":1e999}`, "a", "", CodeInvalidArgument, "gain_db"},
		{`{"id":"a","action":"renew_token","token":""}`, "a", "", CodeInvalidArgument, "token: required"},
		{`{"id":"a","action":"renew_token","token":"` + strings.Repeat("t", maxTokenLen+1) + `"}`, "a", "", CodeInvalidArgument, "token:"},
		{`{"id":"a","action":"status","expires_at":"2026-11-24 10:00"}`, "a", "", CodeInvalidArgument, "expires_at:"},
		{`{"id":"a","action":"status","expires_at":1790000000}`, "a", "", CodeInvalidArgument, "expires_at: must be a string"},
	} {
		_, err := ParseCommand([]byte(c.payload))
		var ce *CommandError
		if !errors.As(err, &ce) {
			t.Errorf("%.80s: error %v, want a *CommandError", c.payload, err)
			continue
		}
		if ce.Code != c.code || ce.ID != c.id || ce.ReplyTo != c.replyTo || !strings.Contains(ce.Message, c.inMessage) {
			t.Errorf("%.80s: got %s id %q reply_to %q %q; want %s id %q reply_to %q containing %q",
				c.payload, ce.Code, ce.ID, ce.ReplyTo, ce.Message, c.code, c.id, c.replyTo, c.inMessage)
		}
	}
}

func TestCommandExpired(t *testing.T) {
	c, err := ParseCommand([]byte(`{"id":"a","action":"status","expires_at":"2026-11-24T10:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	if c.Expired(at.Add(-time.Second)) || !c.Expired(at) || !c.Expired(at.Add(time.Hour)) {
		t.Error("Expired")
	}
	if (Command{ID: "a", Action: ActionStatus}).Expired(at) {
		t.Error("a command without expires_at expired")
	}
}

func TestCommandRoundTrip(t *testing.T) {
	c := Command{ID: "x", Action: ActionSetGain, GainDB: 0, ReplyTo: "r",
		ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 6, time.FixedZone("", 3600))}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseCommand(b)
	if err != nil || !sameCommand(back, c) {
		t.Fatalf("%s → %+v, %v", b, back, err)
	}
}

// sameCommand compares commands, times by instant.
func sameCommand(a, b Command) bool {
	ta, tb := a.ExpiresAt, b.ExpiresAt
	a.ExpiresAt, b.ExpiresAt = time.Time{}, time.Time{}
	return a == b && ta.Equal(tb)
}

// FuzzParseCommand: ParseCommand never panics; what it accepts validates
// and survives a round trip through MarshalJSON; what it refuses is a
// *CommandError with one of the contract's codes, and the id and reply_to
// it carries are valid.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		`{"id":"c-17","action":"join","channel":"lobby","role":"host","token":"t","uid":"7","expires_at":"2026-11-24T10:00:00Z","reply_to":"ops/r"}`,
		`{"id":"1","action":"leave"}`,
		`{"id":"2","action":"set_gain","gain_db":-3.5}`,
		`{"id":"3","action":"bogus"}`,
		`{"id":5}`,
		`[1,2]`,
		`{"id":"4","action":"set_role","role":"audience","x":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommand(b)
		if err != nil {
			var ce *CommandError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v", err, err)
			}
			if !ce.Code.Valid() || ce.Message == "" {
				t.Fatalf("error code %q message %q", ce.Code, ce.Message)
			}
			if len(ce.ID) > maxIDLen || (ce.ReplyTo != "" && validateReplyTo(ce.ReplyTo) != nil) {
				t.Fatalf("error carries id %q reply_to %q", ce.ID, ce.ReplyTo)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed %+v does not validate: %v", c, err)
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("marshal %+v: %v", c, err)
		}
		back, err := ParseCommand(out)
		if err != nil || !sameCommand(back, c) {
			t.Fatalf("round trip %s: %+v, %v; want %+v", out, back, err, c)
		}
	})
}
