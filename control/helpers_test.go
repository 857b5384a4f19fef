package control_test

import (
	"github.com/onair-dev/onair/internal/leaktest"

	"context"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/onair-dev/onair/control"
)

// testLog is the logger of the code under test: warnings and errors only,
// unless ONAIR_TEST_DEBUG is set.
func testLog() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("ONAIR_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// checkGoroutines checks that the test leaves no goroutine behind.
func checkGoroutines(t *testing.T) { leaktest.Check(t) }

// recorder is a control.Handler that records what it is told.
type recorder struct {
	commands     chan command
	connected    chan struct{}
	disconnected chan error
}

type command struct {
	topic   string
	payload string
}

func newRecorder() *recorder {
	return &recorder{
		commands:     make(chan command, 100),
		connected:    make(chan struct{}, 100),
		disconnected: make(chan error, 100),
	}
}

func (r *recorder) Command(topic string, payload []byte) {
	r.commands <- command{topic, string(payload)}
}
func (r *recorder) Connected()             { r.connected <- struct{}{} }
func (r *recorder) Disconnected(err error) { r.disconnected <- err }

// waitConnected waits for the next Connected, skipping failed attempts.
func (r *recorder) waitConnected(t *testing.T) {
	t.Helper()
	var last error
	timeout := time.After(10 * time.Second)
	for {
		select {
		case <-r.connected:
			return
		case last = <-r.disconnected:
		case <-timeout:
			t.Fatalf("not connected after 10 s; last error: %v", last)
		}
	}
}

// waitDisconnected waits for the next Disconnected and returns its error.
func (r *recorder) waitDisconnected(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.disconnected:
		return err
	case <-r.connected:
		t.Fatal("connected instead of disconnected")
	case <-time.After(10 * time.Second):
		t.Fatal("not disconnected after 10 s")
	}
	return nil
}

// waitCommand waits for the next command.
func (r *recorder) waitCommand(t *testing.T) command {
	t.Helper()
	select {
	case c := <-r.commands:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no command after 5 s")
	}
	return command{}
}

// startClient makes a control.Client of cfg (with the test's logger and
// short retries) and runs it until the test ends; stop ends it earlier and
// checks that Run returned nil promptly.
func startClient(t *testing.T, cfg control.Config, h control.Handler) (c *control.Client, stop func()) {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = testLog()
	}
	if cfg.RetryMin == 0 {
		cfg.RetryMin, cfg.RetryMax = 50*time.Millisecond, 400*time.Millisecond
	}
	c, err := control.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, h) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return 10 s after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return c, stop
}

// observer is a plain paho client that watches topics.
type observer struct {
	t    *testing.T
	pc   mqtt.Client
	msgs chan msg
}

type msg struct {
	topic, payload string
	retained       bool
}

// observe connects a paho client to broker (with opts applied) and
// subscribes to filters; it disconnects when the test ends.
func observe(t *testing.T, broker string, opts func(*mqtt.ClientOptions), filters ...string) *observer {
	t.Helper()
	o := &observer{t: t, msgs: make(chan msg, 1000)}
	co := mqtt.NewClientOptions().AddBroker(broker).SetClientID("observer-" + t.Name()).
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			o.msgs <- msg{m.Topic(), string(m.Payload()), m.Retained()}
		})
	if opts != nil {
		opts(co)
	}
	o.pc = mqtt.NewClient(co)
	if tok := o.pc.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("observer connect %s: %v", broker, tok.Error())
	}
	t.Cleanup(func() { o.pc.Disconnect(100) })
	for _, f := range filters {
		if tok := o.pc.Subscribe(f, 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("observer subscribe %s: %v", f, tok.Error())
		}
	}
	return o
}

// publish publishes with QoS 1 and waits for the PUBACK.
func (o *observer) publish(topic string, retained bool, payload string) {
	o.t.Helper()
	if tok := o.pc.Publish(topic, 1, retained, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		o.t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// want waits for a message on topic and checks its payload and retain flag.
// Messages on other topics, and on topic with other payloads, are skipped.
func (o *observer) want(topic, payload string, retained bool) {
	o.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m := <-o.msgs:
			if m.topic != topic || m.payload != payload {
				continue
			}
			if m.retained != retained {
				o.t.Fatalf("%s %q: retained %v, want %v", topic, payload, m.retained, retained)
			}
			return
		case <-timeout:
			o.t.Fatalf("no %q on %s after 5 s", payload, topic)
		}
	}
}

// none checks that no message arrives on topic for a while.
func (o *observer) none(topic string, d time.Duration) {
	o.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case m := <-o.msgs:
			if m.topic == topic {
				o.t.Fatalf("unexpected message %+v", m)
			}
		case <-timeout:
			return
		}
	}
}

// retained returns the retained message of topic as a new subscription
// gets it, "" if none came within 5 s (a deadline for a hung broker: every
// caller expects one).
func retained(t *testing.T, broker string, opts func(*mqtt.ClientOptions), topic string) string {
	t.Helper()
	got := make(chan string, 1)
	co := mqtt.NewClientOptions().AddBroker(broker).SetClientID("retained-" + t.Name()).
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	if opts != nil {
		opts(co)
	}
	pc := mqtt.NewClient(co)
	if tok := pc.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", broker, tok.Error())
	}
	defer pc.Disconnect(100)
	tok := pc.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		if m.Retained() {
			select {
			case got <- string(m.Payload()):
			default:
			}
		}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", topic, tok.Error())
	}
	select {
	case p := <-got:
		return p
	case <-time.After(5 * time.Second):
		return ""
	}
}

// proxy forwards TCP connections to a target; cut closes those open, and
// pause makes it close new ones at once until resume.
type proxy struct {
	t      *testing.T
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu      sync.Mutex
	conns   []net.Conn
	paused  bool
	held    bool
	dropped int // bytes lost while held
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

// addr is the proxy's address.
func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		paused := p.paused
		p.mu.Unlock()
		if paused {
			c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.copy(u, c)
		go p.copy(c, u)
	}
}

func (p *proxy) copy(dst, src net.Conn) {
	defer p.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		p.mu.Lock()
		held := p.held
		if held {
			p.dropped += n
		}
		p.mu.Unlock()
		if held {
			continue
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

// hold makes the open connections lose every byte, both ways, while on:
// the connection looks alive to both ends but carries nothing.
func (p *proxy) hold(on bool) {
	p.mu.Lock()
	p.held = on
	p.mu.Unlock()
}

// cut closes every forwarded connection, both ways, as a network failure
// or a dead device would.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// droppedBytes is how many bytes were lost while held.
func (p *proxy) droppedBytes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped
}

func (p *proxy) pause(on bool) {
	p.mu.Lock()
	p.paused = on
	p.mu.Unlock()
}

// contains reports whether err's message has every part.
func contains(err error, parts ...string) bool {
	if err == nil {
		return false
	}
	for _, s := range parts {
		if !strings.Contains(err.Error(), s) {
			return false
		}
	}
	return true
}

func itoa(n int) string { return strconv.Itoa(n) }
