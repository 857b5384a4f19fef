package control_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/onair-dev/onair/control"
)

// TestConfigErrors: every invalid config is refused by New with
// ErrInvalidConfig and a message naming the key.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	ca := newPKI(t, dir, "ca")
	cert, key := ca.issue("d1", "d1", false)
	ok := control.Config{Broker: "tcp://127.0.0.1", DeviceID: "d1"}
	for _, tc := range []struct {
		key string
		mod func(*control.Config)
	}{
		{"broker", func(c *control.Config) { c.Broker = "" }},
		{"broker", func(c *control.Config) { c.Broker = "http://127.0.0.1" }},
		{"broker", func(c *control.Config) { c.Broker = "tcp://" }},
		{"device_id", func(c *control.Config) { c.DeviceID = "" }},
		{"device_id", func(c *control.Config) { c.DeviceID = "a/b" }},
		{"device_id", func(c *control.Config) { c.DeviceID = "a+" }},
		{"device_id", func(c *control.Config) { c.DeviceID = "#" }},
		{"device_id", func(c *control.Config) { c.DeviceID = "all" }},
		{"device_id", func(c *control.Config) { c.DeviceID = strings.Repeat("x", 65) }},
		{"groups", func(c *control.Config) { c.Groups = []string{"ok", "no/t"} }},
		{"topic_prefix", func(c *control.Config) { c.TopicPrefix = "a//b" }},
		{"topic_prefix", func(c *control.Config) { c.TopicPrefix = "$SYS" }},
		{"password", func(c *control.Config) { c.Password = "x" }},
		{"ca_file", func(c *control.Config) { c.CAFile = ca.CAFile }},
		{"ca_file", func(c *control.Config) { c.Broker, c.CAFile = "ssl://h", dir+"/missing.crt" }},
		{"ca_file", func(c *control.Config) { c.Broker, c.CAFile = "ssl://h", key }},
		{"cert_file, key_file", func(c *control.Config) { c.Broker, c.CertFile = "ssl://h", cert }},
		{"cert_file, key_file", func(c *control.Config) { c.Broker, c.CertFile, c.KeyFile = "wss://h/mqtt", cert, ca.CAFile }},
		{"keep_alive", func(c *control.Config) { c.KeepAlive = 500 * time.Millisecond }},
		{"connect_timeout", func(c *control.Config) { c.ConnectTimeout = -time.Second }},
		{"retry_max", func(c *control.Config) { c.RetryMin, c.RetryMax = time.Second, time.Millisecond }},
	} {
		cfg := ok
		tc.mod(&cfg)
		_, err := control.New(cfg)
		if !errors.Is(err, control.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.key+":") {
			t.Errorf("%+v: error %v, want ErrInvalidConfig naming %s", cfg, err, tc.key)
		}
	}
	for _, b := range []string{"tcp://h", "mqtt://h:1884", "ws://h:9001/mqtt", "ssl://h", "tls://h:8884", "mqtts://h", "wss://h/mqtt"} {
		cfg := ok
		cfg.Broker = b
		if !strings.HasPrefix(b, "tcp:") && !strings.HasPrefix(b, "mqtt:") && !strings.HasPrefix(b, "ws:") {
			cfg.CAFile, cfg.CertFile, cfg.KeyFile = ca.CAFile, cert, key
		}
		if _, err := control.New(cfg); err != nil {
			t.Errorf("%s: %v", b, err)
		}
	}
}

// TestCheckTopic: what a reply_to may be (MQTT 3.1.1 §4.7).
func TestCheckTopic(t *testing.T) {
	for topic, ok := range map[string]bool{
		"onair/ctl/abc/reply":      true,
		"a":                        true,
		"/leading/slash":           true,
		"ünïcode/töpic":            true,
		"":                         false,
		"a/+/b":                    false,
		"a/#":                      false,
		"$SYS/x":                   false,
		"nul\x00":                  false,
		"\xff":                     false,
		strings.Repeat("x", 65536): false,
	} {
		err := control.CheckTopic(topic)
		if (err == nil) != ok || (err != nil && !errors.Is(err, control.ErrInvalidTopic)) {
			t.Errorf("CheckTopic(%.20q) = %v, want ok %v", topic, err, ok)
		}
	}
}

// TestTopics: the names of the contract.
func TestTopics(t *testing.T) {
	tp := control.NewTopics("fleet/onair", "pi-7", []string{"studio"})
	want := []string{"fleet/onair/pi-7/cmd", "fleet/onair/all/cmd", "fleet/onair/group/studio/cmd"}
	if got := tp.Commands(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("commands %v, want %v", got, want)
	}
	if tp.Status != "fleet/onair/pi-7/status" || tp.Telemetry != "fleet/onair/pi-7/telemetry" || tp.Events != "fleet/onair/pi-7/events" {
		t.Errorf("topics %+v", tp)
	}
}
