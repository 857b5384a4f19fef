package broker

import (
	"github.com/onair-dev/onair/internal/leaktest"

	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/onair-dev/onair/control"
)

func testLog() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("ONAIR_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// checkGoroutines checks that the test leaves no goroutine behind.
func checkGoroutines(t *testing.T) { leaktest.Check(t) }

// startBroker runs a Broker of cfg until the test ends and checks that Run
// returns nil promptly.
func startBroker(t *testing.T, cfg Config) *Broker {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = testLog()
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return 5 s after its context ended")
		}
	})
	return b
}

// recorder is a control.Handler that queues what it is told.
type recorder struct {
	commands     chan string
	connected    chan struct{}
	disconnected chan error
}

func newRecorder() *recorder {
	return &recorder{make(chan string, 100), make(chan struct{}, 100), make(chan error, 100)}
}
func (r *recorder) Command(topic string, payload []byte) { r.commands <- topic + " " + string(payload) }
func (r *recorder) Connected()                           { r.connected <- struct{}{} }
func (r *recorder) Disconnected(err error)               { r.disconnected <- err }

// next waits for a value of ch.
func next[T any](t *testing.T, ch chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s after 5 s", what)
	}
	var zero T
	return zero
}

// runClient runs a control.Client of cfg until the test ends; stop ends
// it earlier.
func runClient(t *testing.T, cfg control.Config, h control.Handler) (c *control.Client, stop func()) {
	t.Helper()
	cfg.Log = testLog()
	if cfg.RetryMin == 0 {
		cfg.RetryMin, cfg.RetryMax = 50*time.Millisecond, 200*time.Millisecond
	}
	c, err := control.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, h) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := next(t, done, "end of Run"); err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return c, stop
}

// subscriber is a paho client recording what it receives.
type subscriber struct {
	pc   paho.Client
	msgs chan string // "topic payload"
}

func subscribe(t *testing.T, url string, filter string) *subscriber {
	t.Helper()
	s := &subscriber{msgs: make(chan string, 100)}
	o := paho.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("sub-%d", time.Now().UnixNano())).SetProtocolVersion(4).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			r := ""
			if m.Retained() {
				r = " (retained)"
			}
			s.msgs <- m.Topic() + " " + string(m.Payload()) + r
		})
	s.pc = paho.NewClient(o)
	if tok := s.pc.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { s.pc.Disconnect(100) })
	if filter != "" {
		if tok := s.pc.Subscribe(filter, 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
	}
	return s
}

// want waits for the message "topic payload[ (retained)]", skipping others.
func (s *subscriber) want(t *testing.T, m string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case got := <-s.msgs:
			if got == m {
				return
			}
		case <-timeout:
			t.Fatalf("no %q after 5 s", m)
		}
	}
}

func (s *subscriber) publish(t *testing.T, topic string, retained bool, payload string) {
	t.Helper()
	if tok := s.pc.Publish(topic, 1, retained, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

// TestNewAndAddr: port 0 gets a port; anonymous access beyond loopback
// must be explicit; a bad or busy address fails at New; Close is safe
// twice.
func TestNewAndAddr(t *testing.T) {
	checkGoroutines(t)
	b, err := New(Config{Listen: "127.0.0.1:0", Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	if _, port, _ := net.SplitHostPort(b.Addr()); port == "0" || port == "" {
		t.Errorf("Addr %s", b.Addr())
	}
	if _, err := New(Config{Listen: b.Addr(), Log: testLog()}); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("busy address: %v", err)
	}
	_ = b.Close()
	_ = b.Close()

	for _, cfg := range []Config{
		{Listen: ":0"},
		{Listen: "0.0.0.0:0"},
		{Listen: "nohost"},
		{Listen: "127.0.0.1:0", Password: "x"},
		{Listen: "127.0.0.1:0", CertFile: "x"},
	} {
		cfg.Log = testLog()
		if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v, want ErrInvalidConfig", cfg, err)
		}
	}
	for _, cfg := range []Config{
		{Listen: ":0", AllowAnonymous: true},
		{Listen: ":0", Username: "u", Password: "p"},
		{Listen: "localhost:0"},
	} {
		cfg.Log = testLog()
		b, err := New(cfg)
		if err != nil {
			t.Errorf("%+v: %v", cfg, err)
			continue
		}
		_ = b.Close()
	}
}

// TestControlClient: the device transport against the embedded broker:
// commands on the three topics, retained state and status, the last will
// when the connection dies, the reconnection, and Request's round trip.
func TestControlClient(t *testing.T) {
	checkGoroutines(t)
	b := startBroker(t, Config{Listen: ":0", AllowAnonymous: true})
	url := "tcp://" + b.Addr()
	obs := subscribe(t, url, "onair/#")
	rec := newRecorder()
	cfg := control.Config{Broker: url, DeviceID: "d1", Groups: []string{"g1"}, RetryMin: time.Second, RetryMax: time.Second}
	c, stop := runClient(t, cfg, rec)
	next(t, rec.connected, "connection")
	obs.want(t, "onair/d1/status online")

	for _, topic := range []string{"onair/d1/cmd", "onair/all/cmd", "onair/group/g1/cmd"} {
		obs.publish(t, topic, false, "c")
		if got := next(t, rec.commands, "command"); got != topic+" c" {
			t.Fatalf("command %q on %s", got, topic)
		}
	}
	if err := c.PublishState([]byte(`{"state":"idle"}`)); err != nil {
		t.Fatal(err)
	}
	obs.want(t, `onair/d1/state {"state":"idle"}`)
	subscribe(t, url, "onair/d1/state").want(t, `onair/d1/state {"state":"idle"} (retained)`)

	// The connection dies under the device: the broker publishes its will.
	cl, ok := b.srv.Clients.Get("onair-d1")
	if !ok {
		t.Fatal("no client onair-d1 in the broker")
	}
	_ = cl.Net.Conn.Close()
	obs.want(t, "onair/d1/status offline")
	subscribe(t, url, "onair/d1/status").want(t, "onair/d1/status offline (retained)")
	if err := next(t, rec.disconnected, "disconnection"); err == nil {
		t.Error("Disconnected(nil)")
	}
	next(t, rec.connected, "reconnection")
	obs.want(t, "onair/d1/status online")

	// onair ctl through the embedded broker.
	go func() { // t.Fatal is for the test's goroutine: no next here
		var cmd string
		select {
		case cmd = <-rec.commands:
		case <-time.After(5 * time.Second):
			return // Request times out and says so
		}
		if !strings.Contains(cmd, `"reply_to":"onair/ctl/`) {
			t.Errorf("command %s", cmd)
		}
		_, payload, _ := strings.Cut(cmd, " ")
		var m struct {
			ReplyTo string `json:"reply_to"`
		}
		_ = jsonUnmarshal(payload, &m)
		_ = c.PublishReply(m.ReplyTo, []byte(`{"id":"x","ok":true}`))
	}()
	reply, err := control.Request(t.Context(), control.Config{Broker: url, Log: testLog()}, "d1", []byte(`{"id":"x","action":"status"}`), 5*time.Second)
	if err != nil || string(reply) != `{"id":"x","ok":true}` {
		t.Fatalf("Request: %s, %v", reply, err)
	}

	stop()
	obs.want(t, "onair/d1/status offline")
	subscribe(t, url, "onair/d1/status").want(t, "onair/d1/status offline (retained)")
}

// TestPassword: with a username set, the right credentials connect and
// wrong ones are refused with ErrUnauthorized.
func TestPassword(t *testing.T) {
	checkGoroutines(t)
	b := startBroker(t, Config{Listen: "127.0.0.1:0", Username: "board", Password: "s3cret"})
	url := "tcp://" + b.Addr()
	rec := newRecorder()
	_, stop := runClient(t, control.Config{Broker: url, DeviceID: "d1", Username: "board", Password: "s3cret"}, rec)
	next(t, rec.connected, "connection")
	stop()
	for _, cred := range [][2]string{{"board", "wrong"}, {"other", "s3cret"}, {"", ""}} {
		rec := newRecorder()
		_, stop := runClient(t, control.Config{Broker: url, DeviceID: "d1", Username: cred[0], Password: cred[1]}, rec)
		err := next(t, rec.disconnected, "refusal")
		if !errors.Is(err, control.ErrUnauthorized) {
			t.Errorf("%v: %v, want ErrUnauthorized", cred, err)
		}
		t.Logf("%v: %v", cred, err)
		stop()
	}
}

// TestTLS: a TLS listener with a certificate for 127.0.0.1.
func TestTLS(t *testing.T) {
	checkGoroutines(t)
	certFile, keyFile := selfSigned(t)
	b := startBroker(t, Config{Listen: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile})
	rec := newRecorder()
	_, stop := runClient(t, control.Config{Broker: "ssl://" + b.Addr(), DeviceID: "d1", CAFile: certFile}, rec)
	next(t, rec.connected, "connection")
	stop()
}

// selfSigned writes a self-signed CA certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "onair test broker"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "broker.crt"), filepath.Join(dir, "broker.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// TestMochiLog: mochi's empty-message warnings become debug records.
func TestMochiLog(t *testing.T) {
	var buf strings.Builder
	log := slog.New(mochiLog{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})}).With("component", "broker")
	log.Warn("", "error", "EOF")
	log.Warn("real warning")
	got := buf.String()
	if !strings.Contains(got, `level=DEBUG msg="broker: client connection ended" component=broker error=EOF`) || !strings.Contains(got, `level=WARN msg="real warning"`) {
		t.Errorf("log:\n%s", got)
	}
	buf.Reset()
	log = slog.New(mochiLog{slog.NewTextHandler(&buf, nil)})
	log.Warn("", "error", "EOF")
	if buf.Len() != 0 {
		t.Errorf("debug record logged at info level: %s", buf.String())
	}
}
