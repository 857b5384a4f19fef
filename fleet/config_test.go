package fleet

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func load(t *testing.T, file string, args ...string) (*Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	l := Flags(fs)
	if file != "" {
		args = append(args, "--config", file)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return l()
}

func TestConfigFileThenFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	os.WriteFile(file, []byte("state_dir: /srv/fleet\ncert_lifetime: 10d\nsettings:\n  broker: mqtts://b:8883\n  topic_prefix: lab\n"+
		"  uplink:\n    whip_url: https://m/whip/{channel}\noperators: [ops]\nreload_command: [systemctl, reload, mosquitto]\n"), 0o644)
	c, err := load(t, file, "--cert-lifetime", "2m", "--operator", "alice", "--operator", "bob")
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != "/srv/fleet" || c.CertLifetime != Duration(2*time.Minute) || c.Settings.Broker != "mqtts://b:8883" ||
		c.Settings.TopicPrefix != "lab" || c.Settings.Uplink.WHIPURL != "https://m/whip/{channel}" ||
		strings.Join(c.Operators, ",") != "alice,bob" || len(c.ReloadCommand) != 3 || c.Listen != ":8443" {
		t.Errorf("config %+v", c)
	}
}

func TestConfigStateDirFromSystemd(t *testing.T) {
	t.Setenv("STATE_DIRECTORY", "/var/lib/x:/var/lib/y")
	c, err := load(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != "/var/lib/x" {
		t.Errorf("state dir %q", c.StateDir)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ yaml, key string }{
		{"nonsense: 1\n", "field nonsense not found"},
		{"cert_lifetime: 10s\n", "cert_lifetime"},
		{"settings:\n  broker: mqtt://b:1883\n", "settings.broker"},
		{"settings:\n  topic_prefix: a/b\n", "settings.topic_prefix"},
		{"operators: ['a b']\n", "operators"},
		{"tls_cert: x\n", "tls_cert"},
		{"listen: nowhere\n", "listen"},
	} {
		file := filepath.Join(dir, "c.yaml")
		os.WriteFile(file, []byte(tc.yaml), 0o644)
		_, err := load(t, file)
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%q: %v, want a config error naming %s", tc.yaml, err, tc.key)
		}
	}
}
