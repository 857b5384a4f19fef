package control_test

import (
	"github.com/onair-dev/onair/internal/mqtttest"

	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/onair-dev/onair/control"
)

// TestMutualTLS: Mosquitto requires a client certificate, takes its
// common name as the user name and confines each device to onair/<cn>/#
// (plus reading all/cmd and group commands). A device with its
// certificate works; without one, or trusting another CA, it gets a clear
// error and never connects.
func TestMutualTLS(t *testing.T) {
	checkGoroutines(t)
	dir := mqtttest.TestDir(t)
	ca := newPKI(t, dir, "ca")
	ca.issue("server", "localhost", true)
	d1Cert, d1Key := ca.issue("d1", "d1", false)
	ca.issue("admin", "admin", false)
	mqtttest.WriteFile(t, dir, "acl", []byte(strings.Join([]string{
		"pattern read onair/all/cmd",
		"pattern read onair/group/+/cmd",
		"pattern readwrite onair/%u/#",
		"pattern write onair/ctl/+/reply",
		"user admin",
		"topic readwrite #",
		"",
	}, "\n")))
	m := mqtttest.Start(t, dir, strings.Join([]string{
		"cafile ca.crt", "certfile server.crt", "keyfile server.key",
		"require_certificate true", "use_identity_as_username true", "acl_file acl",
	}, "\n"))
	admin := func(o *mqtt.ClientOptions) { o.SetTLSConfig(ca.tlsConfig("admin")) }
	obs := observe(t, m.URL("ssl"), admin, "onair/#")

	rec := newRecorder()
	cfg := control.Config{Broker: m.URL("ssl"), DeviceID: "d1", Groups: []string{"g1"}, CAFile: ca.CAFile, CertFile: d1Cert, KeyFile: d1Key}
	c, stop := startClient(t, cfg, rec)
	rec.waitConnected(t)
	obs.want("onair/d1/status", "online", false)
	for _, topic := range []string{"onair/d1/cmd", "onair/all/cmd", "onair/group/g1/cmd"} {
		obs.publish(topic, false, "x")
		if got := rec.waitCommand(t); got.topic != topic {
			t.Fatalf("command %+v, want one on %s", got, topic)
		}
	}
	// The ACL holds: a reply_to outside onair/d1/ is dropped by the broker
	// (MQTT 3.1.1 still acknowledges it).
	must(t, c.PublishReply("onair/d2/reply", []byte("denied")))
	must(t, c.PublishState([]byte("allowed")))
	obs.want("onair/d1/state", "allowed", false)
	obs.none("onair/d2/reply", 200*time.Millisecond)

	// onair ctl with the operator's certificate.
	adminCert, adminKey := filepath.Join(dir, "admin.crt"), filepath.Join(dir, "admin.key")
	go func() { // t.Fatal is for the test's goroutine: no waitCommand here
		var cmd command
		select {
		case cmd = <-rec.commands:
		case <-time.After(5 * time.Second):
			return // Request times out and says so
		}
		var m struct {
			ID      string `json:"id"`
			ReplyTo string `json:"reply_to"`
		}
		_ = json.Unmarshal([]byte(cmd.payload), &m)
		_ = c.PublishReply(m.ReplyTo, []byte(`{"id":"`+m.ID+`","ok":true}`))
	}()
	ctlCfg := control.Config{Broker: m.URL("ssl"), CAFile: ca.CAFile, CertFile: adminCert, KeyFile: adminKey, Log: testLog()}
	reply, err := control.Request(t.Context(), ctlCfg, "d1", []byte(`{"id":"m1","action":"status"}`), 5*time.Second)
	if err != nil || string(reply) != `{"id":"m1","ok":true}` {
		t.Fatalf("Request over mTLS: %s, %v", reply, err)
	}
	stop()
	obs.want("onair/d1/status", "offline", false)

	t.Run("no client certificate", func(t *testing.T) {
		rec := newRecorder()
		cfg := control.Config{Broker: m.URL("ssl"), DeviceID: "d1", CAFile: ca.CAFile}
		_, stop := startClient(t, cfg, rec)
		err := rec.waitDisconnected(t)
		t.Logf("error: %v", err)
		// "certificate required" when the TLS 1.3 alert arrives before the
		// connection closes, a reset with a hint otherwise.
		if !contains(err, "control: connect ssl://127.0.0.1:", "certificate required") && !contains(err, "no client certificate is configured") {
			t.Errorf("error %q does not say that a certificate is required", err)
		}
		stop()
		if len(rec.connected) > 0 {
			t.Error("connected without a client certificate")
		}
	})
	t.Run("unknown broker CA", func(t *testing.T) {
		other := newPKI(t, dir, "other")
		rec := newRecorder()
		cfg := control.Config{Broker: m.URL("ssl"), DeviceID: "d1", CAFile: other.CAFile, CertFile: d1Cert, KeyFile: d1Key}
		_, stop := startClient(t, cfg, rec)
		err := rec.waitDisconnected(t)
		t.Logf("error: %v", err)
		if !contains(err, "certificate signed by unknown authority") {
			t.Errorf("error %q does not say the broker's certificate is not trusted", err)
		}
		stop()
	})
}

// TestPassword: Mosquitto with a password file; the right credentials
// connect, wrong ones fail with ErrUnauthorized, for a Client and for
// Request.
func TestPassword(t *testing.T) {
	checkGoroutines(t)
	dir := mqtttest.TestDir(t)
	passwd := filepath.Join(dir, "passwd")
	if out, err := exec.Command("mosquitto_passwd", "-b", "-c", passwd, "board", "s3cret").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
	}
	must(t, chmod(passwd))
	m := mqtttest.Start(t, dir, "allow_anonymous false\npassword_file passwd")

	rec := newRecorder()
	_, stop := startClient(t, control.Config{Broker: m.URL("tcp"), DeviceID: "d1", Username: "board", Password: "s3cret"}, rec)
	rec.waitConnected(t)
	stop()

	for _, tc := range []struct{ name, user, pass string }{
		{"wrong password", "board", "nope"},
		{"unknown user", "nobody", "s3cret"},
		{"anonymous", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			cfg := control.Config{Broker: m.URL("tcp"), DeviceID: "d1", Username: tc.user, Password: tc.pass}
			_, stop := startClient(t, cfg, rec)
			err := rec.waitDisconnected(t)
			t.Logf("error: %v", err)
			if !errors.Is(err, control.ErrUnauthorized) {
				t.Errorf("error %v, want ErrUnauthorized", err)
			}
			stop()
			_, err = control.Request(t.Context(), cfg, "d1", []byte(`{"action":"status"}`), 10*time.Second)
			if !errors.Is(err, control.ErrUnauthorized) {
				t.Errorf("Request: %v, want ErrUnauthorized", err)
			}
		})
	}
}

// TestWebSocket: ws:// to Mosquitto's websockets listener.
func TestWebSocket(t *testing.T) {
	checkGoroutines(t)
	// Mosquitto 2.0.11 exits ("Unable to start any listening sockets")
	// when its only listener is a websockets one: a plain one comes along.
	m := mqtttest.Start(t, mqtttest.TestDir(t), fmt.Sprintf("protocol websockets\nallow_anonymous true\nlistener %d 127.0.0.1\nallow_anonymous true", mqtttest.FreePort(t)))
	obs := observe(t, m.URL("ws")+"/mqtt", nil, "onair/#")
	rec := newRecorder()
	c, stop := startClient(t, control.Config{Broker: m.URL("ws") + "/mqtt", DeviceID: "d1"}, rec)
	rec.waitConnected(t)
	obs.want("onair/d1/status", "online", false)
	obs.publish("onair/d1/cmd", false, "over websocket")
	if got := rec.waitCommand(t); got.payload != "over websocket" {
		t.Fatalf("command %+v", got)
	}
	must(t, c.PublishState([]byte("s")))
	obs.want("onair/d1/state", "s", false)
	stop()
	obs.want("onair/d1/status", "offline", false)
}
