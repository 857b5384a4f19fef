package control_test

import (
	"github.com/onair-dev/onair/internal/mqtttest"

	"errors"
	"net"
	"testing"
	"time"

	"github.com/onair-dev/onair/control"
	"github.com/onair-dev/onair/internal/waitfor"
)

// TestContract runs the device side of the contract against Mosquitto:
// the three command topics reach the handler (and nothing else does),
// every publish lands on its topic with its retain flag, status is online
// while connected and offline, retained, after a clean stop.
func TestContract(t *testing.T) {
	checkGoroutines(t)
	m := mqtttest.Start(t, mqtttest.TestDir(t), "allow_anonymous true")
	obs := observe(t, m.URL("tcp"), nil, "onair/#")
	// A command published with RETAIN before the device subscribes must not
	// be applied on every connection.
	obs.publish("onair/d1/cmd", true, `{"id":"stale"}`)

	rec := newRecorder()
	c, stop := startClient(t, control.Config{Broker: m.URL("tcp"), DeviceID: "d1", Groups: []string{"g1", "g2"}}, rec)
	rec.waitConnected(t)
	obs.want("onair/d1/status", "online", false)
	if got := retained(t, m.URL("tcp"), nil, "onair/d1/status"); got != "online" {
		t.Fatalf("retained status %q, want online", got)
	}

	for _, topic := range []string{"onair/d1/cmd", "onair/all/cmd", "onair/group/g1/cmd", "onair/group/g2/cmd"} {
		obs.publish(topic, false, `{"id":"`+topic+`"}`)
		if got := rec.waitCommand(t); got.topic != topic || got.payload != `{"id":"`+topic+`"}` {
			t.Fatalf("command %+v, want one on %s", got, topic)
		}
	}
	obs.publish("onair/group/g3/cmd", false, `{}`)
	obs.publish("onair/d2/cmd", false, `{}`)
	// The broker forwards one publisher's messages in order: had either
	// of those reached the client, it would come before this one.
	obs.publish("onair/d1/cmd", false, `{"id":"marker"}`)
	if got := rec.waitCommand(t); got.topic != "onair/d1/cmd" || got.payload != `{"id":"marker"}` {
		t.Fatalf("command %+v, want the marker on onair/d1/cmd", got)
	}

	tp := c.Topics()
	if tp.Reply != "onair/d1/reply" || tp.State != "onair/d1/state" || len(tp.Groups) != 2 {
		t.Fatalf("topics %+v", tp)
	}
	must(t, c.PublishReply("", []byte(`{"id":"1","ok":true}`)))
	obs.want("onair/d1/reply", `{"id":"1","ok":true}`, false)
	must(t, c.PublishReply("onair/ctl/x/reply", []byte(`{"id":"2","ok":true}`)))
	obs.want("onair/ctl/x/reply", `{"id":"2","ok":true}`, false)
	if err := c.PublishReply("onair/+/reply", nil); !errors.Is(err, control.ErrInvalidTopic) {
		t.Fatalf("reply_to with a wildcard: %v, want ErrInvalidTopic", err)
	}
	must(t, c.PublishState([]byte(`{"state":"idle"}`)))
	obs.want("onair/d1/state", `{"state":"idle"}`, false)
	if got := retained(t, m.URL("tcp"), nil, "onair/d1/state"); got != `{"state":"idle"}` {
		t.Fatalf("retained state %q", got)
	}
	must(t, c.PublishEvent([]byte(`{"event":"mic-lost"}`)))
	obs.want("onair/d1/events", `{"event":"mic-lost"}`, false)
	must(t, c.PublishTelemetry([]byte(`{"rms":-20}`)))
	obs.want("onair/d1/telemetry", `{"rms":-20}`, false)

	stop()
	obs.want("onair/d1/status", "offline", false)
	if got := retained(t, m.URL("tcp"), nil, "onair/d1/status"); got != "offline" {
		t.Fatalf("retained status after stop %q, want offline", got)
	}
	if err := c.Run(t.Context(), rec); !errors.Is(err, control.ErrRunning) {
		t.Fatalf("second Run: %v, want ErrRunning", err)
	}
}

// TestLastWill cuts the device's connection under it, as a power cut or
// a dead network would: the broker publishes the will, status offline
// retained; the device comes back, online again, with Connected called
// again and the commands still arriving.
func TestLastWill(t *testing.T) {
	checkGoroutines(t)
	m := mqtttest.Start(t, mqtttest.TestDir(t), "allow_anonymous true")
	px := newProxy(t, m.Addr())
	obs := observe(t, m.URL("tcp"), nil, "onair/d1/status")
	rec := newRecorder()
	_, stop := startClient(t, control.Config{Broker: "tcp://" + px.addr(), DeviceID: "d1", KeepAlive: 2 * time.Second}, rec)
	rec.waitConnected(t)
	obs.want("onair/d1/status", "online", false)

	px.pause(true) // the device stays away until resumed
	px.cut()
	obs.want("onair/d1/status", "offline", false)
	if got := retained(t, m.URL("tcp"), nil, "onair/d1/status"); got != "offline" {
		t.Fatalf("retained status after the will %q, want offline", got)
	}
	if err := rec.waitDisconnected(t); err == nil {
		t.Fatal("Disconnected(nil) after a cut connection")
	}

	px.pause(false)
	rec.waitConnected(t)
	obs.want("onair/d1/status", "online", false)
	obs.publish("onair/d1/cmd", false, `{"id":"after"}`)
	if got := rec.waitCommand(t); got.payload != `{"id":"after"}` {
		t.Fatalf("command %+v", got)
	}
	stop()
}

// TestBrokerRestart restarts Mosquitto (which keeps nothing): the device
// reconnects, subscribes again, republishes status online, calls
// Connected again, and delivers what it published while the broker was
// down: the reply and the event, and of two states only the last.
func TestBrokerRestart(t *testing.T) {
	checkGoroutines(t)
	m := mqtttest.Start(t, mqtttest.TestDir(t), "allow_anonymous true")
	// The device reaches the broker through a proxy held shut after the
	// restart until the observer has subscribed, so that nothing the device
	// sends on reconnection is published before anyone listens.
	px := newProxy(t, m.Addr())
	rec := newRecorder()
	c, stop := startClient(t, control.Config{Broker: "tcp://" + px.addr(), DeviceID: "d1", Groups: []string{"g1"}}, rec)
	rec.waitConnected(t)

	px.pause(true)
	m.Restart()
	if err := rec.waitDisconnected(t); err == nil {
		t.Fatal("Disconnected(nil) after the broker stopped")
	}
	must(t, c.PublishReply("", []byte(`{"id":"while-down"}`)))
	must(t, c.PublishState([]byte(`{"v":1}`)))
	must(t, c.PublishEvent([]byte(`{"event":"e"}`)))
	must(t, c.PublishState([]byte(`{"v":2}`)))
	must(t, c.PublishTelemetry([]byte(`{"dropped":true}`)))

	obs := observe(t, m.URL("tcp"), nil, "onair/#")
	px.pause(false)
	rec.waitConnected(t)
	obs.want("onair/d1/status", "online", false)
	obs.want("onair/d1/reply", `{"id":"while-down"}`, false)
	obs.want("onair/d1/events", `{"event":"e"}`, false)
	obs.want("onair/d1/state", `{"v":2}`, false)
	obs.none("onair/d1/telemetry", 100*time.Millisecond)
	if got := retained(t, m.URL("tcp"), nil, "onair/d1/state"); got != `{"v":2}` {
		t.Fatalf("retained state %q", got)
	}
	for _, topic := range []string{"onair/d1/cmd", "onair/all/cmd", "onair/group/g1/cmd"} {
		obs.publish(topic, false, "after restart")
		if got := rec.waitCommand(t); got.topic != topic {
			t.Fatalf("command %+v, want one on %s", got, topic)
		}
	}
	stop()
}

// TestInFlightResent: a QoS 1 message written to a connection that dies
// before its PUBACK is sent again on the next connection (MQTT 3.1.1
// §4.4), although that is a new paho client: the session store is the
// Client's.
func TestInFlightResent(t *testing.T) {
	checkGoroutines(t)
	m := mqtttest.Start(t, mqtttest.TestDir(t), "allow_anonymous true")
	px := newProxy(t, m.Addr())
	obs := observe(t, m.URL("tcp"), nil, "onair/d1/events")
	rec := newRecorder()
	c, stop := startClient(t, control.Config{Broker: "tcp://" + px.addr(), DeviceID: "d1"}, rec)
	rec.waitConnected(t)

	px.hold(true)
	must(t, c.PublishEvent([]byte("in flight")))
	waitfor.Cond(t, 10*time.Second, func() bool { return px.droppedBytes() > 0 }, "the event written and lost")
	obs.none("onair/d1/events", 100*time.Millisecond)
	px.hold(false)
	px.cut()
	rec.waitConnected(t)
	obs.want("onair/d1/events", "in flight", false)
	stop()
}

// TestQueuedCommands: the session is persistent, so a command published
// while the device is away is delivered when it comes back.
func TestQueuedCommands(t *testing.T) {
	checkGoroutines(t)
	m := mqtttest.Start(t, mqtttest.TestDir(t), "allow_anonymous true")
	cfg := control.Config{Broker: m.URL("tcp"), DeviceID: "d1"}
	rec := newRecorder()
	_, stop := startClient(t, cfg, rec)
	rec.waitConnected(t)
	stop()

	obs := observe(t, m.URL("tcp"), nil)
	obs.publish("onair/d1/cmd", false, `{"id":"queued"}`)
	rec2 := newRecorder()
	_, stop2 := startClient(t, cfg, rec2)
	if got := rec2.waitCommand(t); got.payload != `{"id":"queued"}` {
		t.Fatalf("command %+v", got)
	}
	rec2.waitConnected(t)
	stop2()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestStopWhileConnecting: Run returns when its context ends during a
// connection attempt to a broker that accepts TCP but never answers
// CONNECT, without waiting for the attempt's ConnectTimeout (an hour:
// stop's deadline is far shorter); paho's abandoned attempt ends when the
// broker closes the connection (the goroutine check waits for it).
func TestStopWhileConnecting(t *testing.T) {
	checkGoroutines(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	accepted := make(chan struct{})
	first := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
			if len(held) == 1 {
				close(first)
			}
		}
	}()
	defer func() {
		ln.Close()
		<-accepted
		for _, c := range held {
			c.Close()
		}
	}()
	rec := newRecorder()
	_, stop := startClient(t, control.Config{Broker: "tcp://" + ln.Addr().String(), DeviceID: "d1", ConnectTimeout: time.Hour}, rec)
	select {
	case <-first: // the attempt is under way
	case <-time.After(10 * time.Second):
		t.Fatal("no connection attempt after 10 s")
	}
	stop()
	if len(rec.connected)+len(rec.disconnected) > 0 {
		t.Errorf("handler called: %d connected, %d disconnected", len(rec.connected), len(rec.disconnected))
	}
}
