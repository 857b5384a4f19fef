package fleet

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/onair-dev/onair/internal/mqtttest"
)

// inbox records what an MQTT client receives.
type inbox struct {
	mu   sync.Mutex
	msgs []string // topic + " " + payload
	got  chan struct{}
}

func (in *inbox) handler(_ mqtt.Client, m mqtt.Message) {
	in.mu.Lock()
	in.msgs = append(in.msgs, m.Topic()+" "+string(m.Payload()))
	in.mu.Unlock()
	select {
	case in.got <- struct{}{}:
	default:
	}
}

// waitFor waits until msg (topic + " " + payload) arrived and returns
// every message received until then.
func (in *inbox) waitFor(t *testing.T, msg string) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		in.mu.Lock()
		for i, m := range in.msgs {
			if m == msg {
				seen := append([]string(nil), in.msgs[:i+1]...)
				in.mu.Unlock()
				return seen
			}
		}
		in.mu.Unlock()
		select {
		case <-in.got:
		case <-deadline:
			t.Fatalf("%q not received within 10 s; received %q", msg, in.msgs)
		}
	}
}

// connect connects to the broker with cert as MQTT 3.1.1 client id.
func connect(t *testing.T, broker string, roots *x509.CertPool, cert tls.Certificate, id string, in *inbox) (mqtt.Client, error) {
	t.Helper()
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).SetProtocolVersion(4).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second).
		SetTLSConfig(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}})
	if in != nil {
		opts.SetDefaultPublishHandler(in.handler)
	}
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatalf("%s: connect: no answer within 10 s", id)
	}
	if tok.Error() != nil {
		return nil, tok.Error()
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c, nil
}

func mustConnect(t *testing.T, broker string, roots *x509.CertPool, cert tls.Certificate, id string, in *inbox) mqtt.Client {
	t.Helper()
	c, err := connect(t, broker, roots, cert, id, in)
	if err != nil {
		t.Fatalf("%s: connect: %v", id, err)
	}
	return c
}

func wait(t *testing.T, what string, tok mqtt.Token) {
	t.Helper()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatalf("%s: no answer within 10 s", what)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// The ACL and CRL the fleet writes, applied by a real Mosquitto with
// require_certificate and use_identity_as_username: a device reads only
// its own, the fleet's and its groups' commands, writes only its own
// topics, and once revoked (and Mosquitto reloaded) cannot connect.
func TestMosquittoAppliesACLAndCRL(t *testing.T) {
	dir := mqtttest.TestDir(t)
	s := newTestServer(t, func(c *Config) {
		c.Operators = []string{"ops"}
		c.ACLFile = filepath.Join(dir, "acl")
		c.CRLFile = filepath.Join(dir, "crl.pem")
	})
	ts := serveTLS(t, s)
	devA, devB := newBoard(t, "dev-a"), newBoard(t, "dev-b")
	if a := devA.enroll(t, s, ts, claim(t, s, 1, time.Hour, "east")); a.status != http.StatusCreated {
		t.Fatalf("enroll A: %d %+v", a.status, a.err)
	}
	if a := devB.enroll(t, s, ts, claim(t, s, 1, time.Hour, "west")); a.status != http.StatusCreated {
		t.Fatalf("enroll B: %d %+v", a.status, a.err)
	}
	ops := newBoard(t, "ops")
	blk, _ := pem.Decode([]byte(ops.csr(t, "ops")))
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	_, opsPEM, err := s.ca.IssueDevice(csr, "ops", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ops.keep(t, string(opsPEM))
	if err := s.WriteAccessFiles(t.Context()); err != nil {
		t.Fatal(err)
	}
	srvCert, srvKey, err := s.ca.IssueServer([]string{"127.0.0.1"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mqtttest.WriteFile(t, dir, "ca.crt", s.ca.CertPEM)
	mqtttest.WriteFile(t, dir, "server.crt", srvCert)
	mqtttest.WriteFile(t, dir, "server.key", srvKey)
	m := mqtttest.Start(t, dir, "cafile ca.crt\ncertfile server.crt\nkeyfile server.key\n"+
		"require_certificate true\nuse_identity_as_username true\ncrlfile crl.pem\nacl_file acl")
	broker := m.URL("ssl")
	roots := s.ca.Pool()

	inA, inB, inOps := &inbox{got: make(chan struct{}, 1)}, &inbox{got: make(chan struct{}, 1)}, &inbox{got: make(chan struct{}, 1)}
	a := mustConnect(t, broker, roots, devA.cert, "onair-dev-a", inA)
	b := mustConnect(t, broker, roots, devB.cert, "onair-dev-b", inB)
	op := mustConnect(t, broker, roots, ops.cert, "ops", inOps)
	wait(t, "ops subscribe", op.Subscribe("onair/#", 1, nil))
	wait(t, "B subscribe", b.SubscribeMultiple(map[string]byte{"onair/dev-b/cmd": 1, "onair/group/east/cmd": 1, "onair/all/cmd": 1}, nil))
	// A tries to read B's topics and everything; the broker may refuse the
	// subscriptions or filter the messages: either way nothing of B's
	// reaches A.
	a.SubscribeMultiple(map[string]byte{"onair/dev-b/#": 1, "onair/#": 1}, nil).WaitTimeout(10 * time.Second)
	wait(t, "A subscribe", a.SubscribeMultiple(map[string]byte{"onair/dev-a/cmd": 1, "onair/group/east/cmd": 1}, nil))

	// A writes B's command topic: dropped (MQTT 3.1.1 still PUBACKs it).
	// The operator's command, published after that PUBACK, reaches B: had
	// A's been delivered, it would have come first.
	wait(t, "A publish", a.Publish("onair/dev-b/cmd", 1, false, "from-a"))
	wait(t, "A publish own state", a.Publish("onair/dev-a/state", 1, false, "a-state"))
	wait(t, "ops publish", op.Publish("onair/dev-b/cmd", 1, false, "from-ops"))
	for _, m := range inB.waitFor(t, "onair/dev-b/cmd from-ops") {
		if m == "onair/dev-b/cmd from-a" {
			t.Errorf("B received A's publish to its command topic")
		}
	}
	for _, m := range inOps.waitFor(t, "onair/dev-b/cmd from-ops") {
		if m == "onair/dev-b/cmd from-a" {
			t.Errorf("the broker accepted A's publish to B's command topic")
		}
	}
	inOps.waitFor(t, "onair/dev-a/state a-state")

	// B's own topics and a command for a group B is not in: A's group
	// command reaches A, nothing of B's does, and B does not get east's.
	wait(t, "B publish", b.Publish("onair/dev-b/state", 1, false, "b-secret"))
	wait(t, "ops publish", op.Publish("onair/group/east/cmd", 1, false, "east-cmd"))
	wait(t, "ops publish", op.Publish("onair/dev-a/cmd", 1, false, "marker-a"))
	wait(t, "ops publish", op.Publish("onair/dev-b/cmd", 1, false, "marker-b"))
	seenA := inA.waitFor(t, "onair/dev-a/cmd marker-a")
	inA.waitFor(t, "onair/group/east/cmd east-cmd")
	for _, m := range seenA {
		if m == "onair/dev-b/state b-secret" || m == "onair/dev-b/cmd from-ops" || m == "onair/dev-b/cmd marker-b" {
			t.Errorf("A received B's message %q", m)
		}
	}
	for _, m := range inB.waitFor(t, "onair/dev-b/cmd marker-b") {
		if m == "onair/group/east/cmd east-cmd" {
			t.Errorf("B received a command of a group it is not in")
		}
	}
	inOps.waitFor(t, "onair/dev-b/state b-secret")
	a.Disconnect(100)

	// Revoked, and Mosquitto reloaded: A is refused, B still connects.
	if err := s.Revoke(t.Context(), "dev-a", "operator:test"); err != nil {
		t.Fatal(err)
	}
	m.Reload()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := connect(t, broker, roots, devA.cert, "onair-dev-a", nil)
		if err != nil {
			t.Logf("revoked A refused: %v", err)
			break
		}
		c.Disconnect(0)
		if time.Now().After(deadline) {
			t.Fatal("revoked A still connects 10 s after the reload")
		}
		time.Sleep(50 * time.Millisecond)
	}
	mustConnect(t, broker, roots, devB.cert, "onair-dev-b-2", nil)
}
