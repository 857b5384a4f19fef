package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// TestShippedConfigEqualsDefaults keeps ../config.yaml and Defaults in step:
// the same values, and every key written out.
func TestShippedConfigEqualsDefaults(t *testing.T) {
	cfg, err := Load(Sources{File: "../config.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if want := Defaults(); !reflect.DeepEqual(*cfg, want) {
		t.Errorf("config.yaml differs from Defaults():\n got %+v\nwant %+v", *cfg, want)
	}

	data, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := yaml.Unmarshal(data, &tree); err != nil {
		t.Fatal(err)
	}
	inFile := map[string]bool{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
			} else {
				inFile[prefix+k] = true
			}
		}
	}
	walk("", tree)
	for key := range registerDefaults(newViper()) {
		if !inFile[key] {
			t.Errorf("config.yaml does not write out %s", key)
		}
	}
}

func TestDefaultsAreValid(t *testing.T) {
	d := Defaults()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLayersOverrideInOrder(t *testing.T) {
	file := writeFile(t, "opus:\n  bitrate: 48000\n  complexity: 3\naudio:\n  input: tone:440\n")
	flags := pflag.NewFlagSet("t", pflag.ContinueOnError)
	flags.String("input", "", "")
	flags.String("channel", "", "")
	if err := flags.Parse([]string{"--input", "file:x.wav"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(Sources{
		File:     file,
		Environ:  []string{"ONAIR_OPUS_BITRATE=64000", "ONAIR_AUDIO_INPUT=tone:660", "ONAIR_UPLINK_RETRY_MAX=5s", "ONAIR_WEBRTC_INTERFACES=lo,eth0", "PATH=/bin"},
		Flags:    flags,
		FlagKeys: map[string]string{"input": "audio.input", "channel": "uplink.channel"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Opus.Bitrate != 64000 {
		t.Errorf("opus.bitrate = %d, want 64000 from the environment", cfg.Opus.Bitrate)
	}
	if cfg.Opus.Complexity != 3 {
		t.Errorf("opus.complexity = %d, want 3 from the file", cfg.Opus.Complexity)
	}
	if cfg.Audio.Input != "file:x.wav" {
		t.Errorf("audio.input = %q, want the flag's file:x.wav", cfg.Audio.Input)
	}
	if cfg.Uplink.Channel != "demo" {
		t.Errorf("uplink.channel = %q, want the default (flag not given)", cfg.Uplink.Channel)
	}
	if cfg.Uplink.RetryMax != 5*time.Second {
		t.Errorf("uplink.retry_max = %s, want 5s", cfg.Uplink.RetryMax)
	}
	if !reflect.DeepEqual(cfg.WebRTC.Interfaces, []string{"lo", "eth0"}) {
		t.Errorf("webrtc.interfaces = %q", cfg.WebRTC.Interfaces)
	}
}

func TestICEServersFromFileAndEnv(t *testing.T) {
	file := writeFile(t, "webrtc:\n  ice_servers:\n    - urls: [\"turn:t.example:3478\"]\n      username: u\n      credential: p\n")
	cfg, err := Load(Sources{File: file})
	if err != nil {
		t.Fatal(err)
	}
	want := []ICEServer{{URLs: []string{"turn:t.example:3478"}, Username: "u", Credential: "p"}}
	if !reflect.DeepEqual(cfg.WebRTC.ICEServers, want) {
		t.Errorf("ice_servers from file = %+v", cfg.WebRTC.ICEServers)
	}
	cfg, err = Load(Sources{Environ: []string{`ONAIR_WEBRTC_ICE_SERVERS=[{urls: ["stun:s.example:3478"]}]`}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.WebRTC.ICEServers) != 1 || cfg.WebRTC.ICEServers[0].URLs[0] != "stun:s.example:3478" {
		t.Errorf("ice_servers from env = %+v", cfg.WebRTC.ICEServers)
	}
}

// TestLoopbackValues: webrtc.loopback is auto by default and takes auto,
// YAML booleans and their strings, from the file and the environment.
func TestLoopbackValues(t *testing.T) {
	for _, c := range []struct {
		file string
		env  []string
		want Loopback
	}{
		{"", nil, LoopbackAuto},
		{"webrtc:\n  loopback: true\n", nil, LoopbackAlways},
		{"webrtc:\n  loopback: false\n", nil, LoopbackNever},
		{"webrtc:\n  loopback: auto\n", nil, LoopbackAuto},
		{"webrtc:\n  loopback: \"false\"\n", nil, LoopbackNever},
		{"", []string{"ONAIR_WEBRTC_LOOPBACK=true"}, LoopbackAlways},
		{"webrtc:\n  loopback: false\n", []string{"ONAIR_WEBRTC_LOOPBACK=auto"}, LoopbackAuto},
	} {
		src := Sources{Environ: c.env}
		if c.file != "" {
			src.File = writeFile(t, c.file)
		}
		cfg, err := Load(src)
		if err != nil {
			t.Fatalf("%q %v: %v", c.file, c.env, err)
		}
		if cfg.WebRTC.Loopback != c.want {
			t.Errorf("%q %v: loopback %q, want %q", c.file, c.env, cfg.WebRTC.Loopback, c.want)
		}
	}
}

// TestBadConfigNamesKey: an unknown key, a bad value and a wrong type each
// give an *Error naming the key.
func TestBadConfigNamesKey(t *testing.T) {
	cases := []struct {
		name, file string
		env        []string
		key        string
	}{
		{"unknown top-level key", "colour: red\n", nil, "colour"},
		{"unknown nested key", "opus:\n  bitrat: 1000\n", nil, "opus.bitrat"},
		{"unknown key in a list item", "webrtc:\n  ice_servers:\n    - urlz: [stun:x]\n", nil, "webrtc.ice_servers[0]"},
		{"value out of range", "opus:\n  bitrate: 1000\n", nil, "opus.bitrate"},
		{"value not allowed", "audio:\n  frame_ms: 25\n", nil, "audio.frame_ms"},
		{"bad application", "opus:\n  application: music\n", nil, "opus.application"},
		{"bad channel name", "uplink:\n  channel: \"a/b\"\n", nil, "uplink.channel"},
		{"bad url", "uplink:\n  whip_url: \"ftp://x/{channel}\"\n", nil, "uplink.whip_url"},
		{"bad ice url", "webrtc:\n  ice_servers:\n    - urls: [\"http://x\"]\n", nil, "webrtc.ice_servers[0].urls"},
		{"string for int", "opus:\n  bitrate: lots\n", nil, "opus.bitrate"},
		{"list for int", "opus:\n  bitrate: [1, 2]\n", nil, "opus.bitrate"},
		{"number for bool", "opus:\n  fec: 1\n", nil, "opus.fec"},
		{"scalar for section", "audio: 5\n", nil, "audio"},
		{"bad duration", "uplink:\n  retry_min: soon\n", nil, "uplink.retry_min"},
		{"bad env int", "", []string{"ONAIR_OPUS_BITRATE=fast"}, "opus.bitrate"},
		{"bad env bool", "", []string{"ONAIR_OPUS_DTX=perhaps"}, "opus.dtx"},
		{"unknown env", "", []string{"ONAIR_OPUS_BITRATES=1"}, "ONAIR_OPUS_BITRATES"},
		{"not yaml", "opus: [\n", nil, ""},
		{"tls cert without key", "relay:\n  tls:\n    cert_file: /etc/hostname\n", nil, "relay.tls.key_file"},
		{"tls key without cert", "", []string{"ONAIR_RELAY_TLS_KEY_FILE=/etc/hostname"}, "relay.tls.cert_file"},
		{"tls cert unreadable", "relay:\n  tls:\n    cert_file: /nonexistent/cert.pem\n    key_file: /etc/hostname\n", nil, "relay.tls.cert_file"},
		{"tls key unreadable", "relay:\n  tls:\n    cert_file: /etc/hostname\n    key_file: /nonexistent/key.pem\n", nil, "relay.tls.key_file"},
		{"bad loopback", "webrtc:\n  loopback: sometimes\n", nil, "webrtc.loopback"},
		{"number for loopback", "webrtc:\n  loopback: 1\n", nil, "webrtc.loopback"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := Sources{Environ: c.env}
			if c.file != "" {
				src.File = writeFile(t, c.file)
			}
			_, err := Load(src)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Load = %v, want *Error", err)
			}
			want := c.key
			if want == "" {
				want = src.File
			}
			if ce.Key != want {
				t.Errorf("error names %q, want %q (%v)", ce.Key, want, err)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message %q does not name %q", err, want)
			}
		})
	}
}

// TestRelayTLSFiles: readable certificate and key files are accepted,
// from the file and from the environment.
func TestRelayTLSFiles(t *testing.T) {
	cert, key := writeFile(t, "certificate"), writeFile(t, "key")
	cfg, err := Load(Sources{Environ: []string{"ONAIR_RELAY_TLS_CERT_FILE=" + cert, "ONAIR_RELAY_TLS_KEY_FILE=" + key}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Relay.TLS != (RelayTLS{CertFile: cert, KeyFile: key}) {
		t.Errorf("relay.tls = %+v", cfg.Relay.TLS)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load(Sources{File: filepath.Join(t.TempDir(), "nope.yaml")})
	var ce *Error
	if !errors.As(err, &ce) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load = %v, want a not-exist *Error", err)
	}
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
