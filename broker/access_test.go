package broker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/onair-dev/onair/control"
)

// TestBoardAccess: the rules of Board, topic by topic.
func TestBoardAccess(t *testing.T) {
	b := &Board{DeviceID: "d1", TopicPrefix: "onair"}
	for _, c := range []struct {
		r      role
		topic  string
		write  bool
		wanted bool
	}{
		{roleAnonymous, "onair/d1/state", false, true},
		{roleAnonymous, "onair/d1/status", false, true},
		{roleAnonymous, "onair/d1/telemetry", false, true},
		{roleAnonymous, "onair/d1/events", false, true},
		{roleAnonymous, "#", false, true}, // a filter: delivery is checked
		{roleAnonymous, "onair/d1/cmd", false, false},
		{roleAnonymous, "onair/all/cmd", false, false},
		{roleAnonymous, "onair/group/g/cmd", false, false},
		{roleAnonymous, "onair/d1/reply", false, false},
		{roleAnonymous, "onair/ctl/x/reply", false, false},
		{roleAnonymous, "$SYS/broker/uptime", false, false},
		{roleAnonymous, "other", false, false},
		{roleAnonymous, "onair/d1/cmd", true, false},
		{roleAnonymous, "onair/all/cmd", true, false},
		{roleAnonymous, "onair/d1/status", true, false},
		{roleAnonymous, "other", true, false},
		{roleBoard, "onair/d1/cmd", false, true},
		{roleBoard, "onair/all/cmd", false, true},
		{roleBoard, "onair/group/g/cmd", false, true},
		{roleBoard, "onair/d2/cmd", false, false},
		{roleBoard, "onair/d1/state", true, true},
		{roleBoard, "onair/d1/status", true, true},
		{roleBoard, "onair/ctl/x/reply", true, true},
		{roleBoard, "onair/ops/reply", true, true},
		{roleBoard, "ops/replies", true, true},
		{roleBoard, "onair/d2/state", true, false},
		{roleBoard, "onair/d2/cmd", true, false},
		{roleBoard, "onair/all/cmd", true, false},
		{roleOperator, "onair/d1/cmd", true, true},
		{roleOperator, "onair/d1/cmd", false, true},
		{roleOperator, "$SYS/x", false, true},
	} {
		if got := b.access(c.r, c.topic, c.write); got != c.wanted {
			t.Errorf("role %d %s write=%v: %v, want %v", c.r, c.topic, c.write, got, c.wanted)
		}
	}
}

// TestCredentials: generated once, 0600, read back the same; a broken
// file is replaced.
func TestCredentials(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadCredentials(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("no file: %v", err)
	}
	c, err := LoadOrCreateCredentials(dir)
	if err != nil || !c.valid() || c.Board == c.Operator {
		t.Fatalf("%+v, %v", c, err)
	}
	fi, err := os.Stat(filepath.Join(dir, CredentialsFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi, err)
	}
	if again, err := LoadOrCreateCredentials(dir); err != nil || again != c {
		t.Errorf("second load %+v, %v", again, err)
	}
	if read, err := ReadCredentials(dir); err != nil || read != c {
		t.Errorf("read %+v, %v", read, err)
	}
	if err := os.WriteFile(filepath.Join(dir, CredentialsFile), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := LoadOrCreateCredentials(dir); err != nil || !n.valid() || n == c {
		t.Errorf("after a broken file: %+v, %v", n, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left: %v", entries)
	}
}

// pahoClient connects a paho client with id, user and password; lost
// hears the end of its connection.
func pahoClient(t *testing.T, url, id, user, pass string, msgs chan string) (c paho.Client, lost chan error, err error) {
	t.Helper()
	lost = make(chan error, 1)
	o := paho.NewClientOptions().AddBroker(url).SetClientID(id).SetProtocolVersion(4).SetAutoReconnect(false).
		SetUsername(user).SetPassword(pass).
		SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err }).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			if msgs != nil {
				msgs <- m.Topic() + " " + string(m.Payload())
			}
		})
	c = paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		return nil, nil, fmt.Errorf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c, lost, nil
}

// TestBoardAuth: on a standalone board's broker, an anonymous local
// client can neither command the board, nor read its commands (tokens),
// nor publish a false status, nor take the board's client id; the board
// with its credential and the operator with theirs work as before.
func TestBoardAuth(t *testing.T) {
	checkGoroutines(t)
	creds, err := LoadOrCreateCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, Config{Listen: "127.0.0.1:0", Board: &Board{DeviceID: "d1", Credentials: creds}})
	url := "tcp://" + b.Addr()

	// The board's client id without the board's credential is refused.
	for _, cred := range [][2]string{{"", ""}, {BoardUser, "wrong"}, {OperatorUser, creds.Operator}} {
		if _, _, err := pahoClient(t, url, "onair-d1", cred[0], cred[1], nil); err == nil {
			t.Errorf("%q: connected with the board's client id", cred[0])
		}
	}
	if _, _, err := pahoClient(t, url, "op", OperatorUser, "wrong", nil); err == nil {
		t.Error("operator with a wrong password connected")
	}

	rec := newRecorder()
	c, _ := runClient(t, control.Config{Broker: url, DeviceID: "d1", Groups: []string{"g1"}, Username: BoardUser, Password: creds.Board}, rec)
	next(t, rec.connected, "connection")

	spyMsgs := make(chan string, 100)
	spy, _, err := pahoClient(t, url, "spy", "", "", spyMsgs)
	if err != nil {
		t.Fatal(err)
	}
	if tok := spy.Subscribe("#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	opMsgs := make(chan string, 100)
	op, _, err := pahoClient(t, url, "op", OperatorUser, creds.Operator, opMsgs)
	if err != nil {
		t.Fatal(err)
	}
	if tok := op.Subscribe("onair/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}

	// An anonymous command and a false status: the broker hangs up.
	for _, m := range [][2]string{{"onair/d1/cmd", `{"id":"evil","action":"mute"}`}, {"onair/d1/status", "offline"}, {"onair/all/cmd", "x"}} {
		anon, lost, err := pahoClient(t, url, "anon", "", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		anon.Publish(m[0], 1, true, m[1])
		next(t, lost, "the anonymous publisher's connection to end")
	}

	// The operator's command reaches the board; the spy sees none of it.
	opCmd := `{"id":"c1","action":"join","channel":"x","token":"secret-token"}`
	if tok := op.Publish("onair/d1/cmd", 1, false, opCmd); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if got := next(t, rec.commands, "command"); got != "onair/d1/cmd "+opCmd {
		t.Fatalf("board got %q first, want the operator's command", got)
	}
	if err := c.PublishState([]byte(`{"state":"joining"}`)); err != nil {
		t.Fatal(err)
	}
	if err := c.PublishReply("onair/ctl/abc/reply", []byte(`{"id":"c1","ok":true}`)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`onair/d1/state {"state":"joining"}`, `onair/ctl/abc/reply {"id":"c1","ok":true}`} {
		for got := next(t, opMsgs, "operator message"); got != want; got = next(t, opMsgs, "operator message") {
			if got == "onair/d1/status offline" {
				t.Errorf("the operator saw a false status")
			}
		}
	}
	// The spy: status and state, never the command nor the reply.
	for got := ""; got != `onair/d1/state {"state":"joining"}`; {
		got = next(t, spyMsgs, "spy message")
		if got != "onair/d1/status online" && got != `onair/d1/state {"state":"joining"}` {
			t.Errorf("anonymous subscriber received %q", got)
		}
	}
	select {
	case d := <-rec.disconnected:
		t.Errorf("the board was disconnected: %v", d)
	default:
	}
}
