package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Config is the fleet server's configuration: defaults, then the YAML
// file, then the command line, then Validate. Every error names its key
// (a *ConfigError, exit status 78).
type Config struct {
	// StateDir holds the registry, the CA, the CRL and the ACL; default
	// $STATE_DIRECTORY (systemd), else /var/lib/onair-fleet.
	StateDir string `yaml:"state_dir"`
	// Listen is the HTTPS address of /enroll and /renew.
	Listen string `yaml:"listen"`
	// Hosts are the names (DNS or IP) the fleet server's own certificate,
	// issued by its CA at every start, is valid for. Ignored when TLSCert
	// is set.
	Hosts []string `yaml:"hosts"`
	// TLSCert and TLSKey are PEM files of a certificate (from any CA) for
	// the HTTPS listener instead of one issued by the fleet's CA.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// CertLifetime is the lifetime of a device certificate; boards renew
	// at 2/3 of it.
	CertLifetime Duration `yaml:"cert_lifetime"`
	// Settings are handed to every board that enrolls.
	Settings Settings `yaml:"settings"`
	// Operators are the MQTT user names (client certificate CNs) that read
	// and write every topic.
	Operators []string `yaml:"operators"`
	// ACLFile is where the Mosquitto ACL is written; default
	// <state_dir>/acl.
	ACLFile string `yaml:"acl_file"`
	// CRLFile is a second place the CRL is written to (it is always in
	// <state_dir>/crl.pem), e.g. Mosquitto's crlfile.
	CRLFile string `yaml:"crl_file"`
	// ReloadCommand runs (no shell) after the ACL or the CRL changed, e.g.
	// [systemctl, reload, mosquitto]; empty for none.
	ReloadCommand []string `yaml:"reload_command"`
	// Log is the log level and format.
	Log LogConfig `yaml:"log"`
}

// LogConfig is the log level (debug, info, warn, error) and format (text,
// json).
type LogConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// ExitConfig is the exit status of onair-fleet for a configuration error
// (EX_CONFIG of sysexits.h), as onair's.
const ExitConfig = 78

// ConfigError is a configuration error: Key names the offending key,
// flag or file and Err says what is wrong with it.
type ConfigError struct {
	Key string
	Err error
}

func (e *ConfigError) Error() string { return "config: " + e.Key + ": " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Settings are the fleet settings an enrolled board receives.
type Settings struct {
	// Broker is the fleet's MQTT broker URL (mqtts://host:8883).
	Broker string `yaml:"broker" json:"broker"`
	// TopicPrefix is P of the MQTT contract.
	TopicPrefix string `yaml:"topic_prefix" json:"topic_prefix"`
	// Groups are the device's groups (from its claim); not configured.
	Groups []string `yaml:"-" json:"groups"`
	// Uplink holds the channel server's URL templates.
	Uplink Uplink `yaml:"uplink" json:"uplink"`
}

// Uplink are the WHIP and WHEP URL templates boards substitute the channel
// and uid into.
type Uplink struct {
	WHIPURL string `yaml:"whip_url" json:"whip_url"`
	WHEPURL string `yaml:"whep_url" json:"whep_url"`
}

// Duration is a time.Duration that also takes days: "30d", "36h", "2m".
type Duration time.Duration

// UnmarshalYAML reads a Duration from a string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	*d = Duration(v)
	return err
}

// String formats d as ParseDuration reads it.
func (d Duration) String() string {
	v := time.Duration(d)
	if v > 0 && v%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(v/(24*time.Hour)), 10) + "d"
	}
	return v.String()
}

// Set parses a flag's value.
func (d *Duration) Set(s string) error {
	v, err := ParseDuration(s)
	if err == nil {
		*d = Duration(v)
	}
	return err
}

// Type names the flag's value type.
func (d *Duration) Type() string { return "duration" }

// ParseDuration parses a Go duration or a whole number of days ("30d").
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseUint(n, 10, 16)
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", s, err)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	return d, nil
}

// DefaultStateDir is the state directory when neither state_dir nor
// $STATE_DIRECTORY says otherwise.
const DefaultStateDir = "/var/lib/onair-fleet"

// Defaults returns the configuration with nothing configured.
func Defaults() Config {
	return Config{
		Listen:       ":8443",
		Hosts:        []string{"localhost", "127.0.0.1"},
		CertLifetime: Duration(30 * 24 * time.Hour),
		Settings: Settings{
			Broker:      "mqtts://localhost:8883",
			TopicPrefix: "onair",
		},
		Log: LogConfig{Level: "info", Format: "text"},
	}
}

// Flags adds the fleet server's flags to fs and returns the loader of the
// configuration: defaults, the --config file, then the flags given.
func Flags(fs *pflag.FlagSet) func() (*Config, error) {
	file := fs.String("config", "", "configuration file (YAML)")
	var f Config
	fs.StringVar(&f.StateDir, "state-dir", "", "state directory (default $STATE_DIRECTORY or "+DefaultStateDir+")")
	fs.StringVar(&f.Listen, "listen", "", "HTTPS listen address of /enroll and /renew (default :8443)")
	fs.StringSliceVar(&f.Hosts, "host", nil, "names of the fleet server for its certificate (repeatable)")
	fs.Var(&f.CertLifetime, "cert-lifetime", "lifetime of a device certificate, e.g. 30d, 2m")
	fs.StringVar(&f.Settings.Broker, "broker", "", "MQTT broker URL handed to boards")
	fs.StringVar(&f.Settings.TopicPrefix, "topic-prefix", "", "MQTT topic prefix")
	fs.StringVar(&f.Settings.Uplink.WHIPURL, "whip-url", "", "WHIP URL template handed to boards")
	fs.StringVar(&f.Settings.Uplink.WHEPURL, "whep-url", "", "WHEP URL template handed to boards")
	fs.StringSliceVar(&f.Operators, "operator", nil, "operator MQTT user (certificate CN) with access to every topic (repeatable)")
	fs.StringVar(&f.ACLFile, "acl-out", "", "where to write the Mosquitto ACL (default <state-dir>/acl)")
	fs.StringVar(&f.CRLFile, "crl-out", "", "a second path to write the CRL to")
	return func() (*Config, error) {
		c := Defaults()
		if *file != "" {
			if err := readConfigFile(&c, *file); err != nil {
				return nil, err
			}
		}
		over := map[string]func(){
			"state-dir":     func() { c.StateDir = f.StateDir },
			"listen":        func() { c.Listen = f.Listen },
			"host":          func() { c.Hosts = f.Hosts },
			"cert-lifetime": func() { c.CertLifetime = f.CertLifetime },
			"broker":        func() { c.Settings.Broker = f.Settings.Broker },
			"topic-prefix":  func() { c.Settings.TopicPrefix = f.Settings.TopicPrefix },
			"whip-url":      func() { c.Settings.Uplink.WHIPURL = f.Settings.Uplink.WHIPURL },
			"whep-url":      func() { c.Settings.Uplink.WHEPURL = f.Settings.Uplink.WHEPURL },
			"operator":      func() { c.Operators = f.Operators },
			"acl-out":       func() { c.ACLFile = f.ACLFile },
			"crl-out":       func() { c.CRLFile = f.CRLFile },
		}
		for name, set := range over {
			if fs.Changed(name) {
				set()
			}
		}
		if c.StateDir == "" {
			c.StateDir, _, _ = strings.Cut(os.Getenv("STATE_DIRECTORY"), ":")
		}
		if c.StateDir == "" {
			c.StateDir = DefaultStateDir
		}
		if err := c.Validate(); err != nil {
			return nil, err
		}
		return &c, nil
	}
}

// readConfigFile overlays c with the YAML file path; an unknown key is an
// error.
func readConfigFile(c *Config, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return &ConfigError{Key: path, Err: err}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return &ConfigError{Key: path, Err: err}
	}
	return nil
}

// Validate checks every key and returns a *ConfigError naming the first
// bad one.
func (c *Config) Validate() error {
	bad := func(key string, format string, args ...any) error {
		return &ConfigError{Key: key, Err: fmt.Errorf(format, args...)}
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return bad("listen", "%w", err)
	}
	if c.TLSCert == "" && len(c.Hosts) == 0 {
		return bad("hosts", "empty: the server certificate needs a name (or set tls_cert)")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return bad("tls_cert", "tls_cert and tls_key go together")
	}
	if c.CertLifetime < Duration(time.Minute) {
		return bad("cert_lifetime", "%s: must be at least 1m", c.CertLifetime)
	}
	u, err := url.Parse(c.Settings.Broker)
	if err != nil || u.Host == "" || (u.Scheme != "mqtts" && u.Scheme != "ssl" && u.Scheme != "tls" && u.Scheme != "wss") {
		return bad("settings.broker", "%q: want mqtts://host:port (or ssl, tls, wss): boards authenticate with their certificate", c.Settings.Broker)
	}
	if err := CheckName(c.Settings.TopicPrefix); err != nil {
		return bad("settings.topic_prefix", "%w", err)
	}
	for _, key := range []struct{ name, v string }{{"settings.uplink.whip_url", c.Settings.Uplink.WHIPURL}, {"settings.uplink.whep_url", c.Settings.Uplink.WHEPURL}} {
		if key.v == "" {
			continue
		}
		if u, err := url.Parse(key.v); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return bad(key.name, "%q: want an http(s) URL template", key.v)
		}
	}
	for _, op := range c.Operators {
		if op == "" || strings.ContainsAny(op, " \t\r\n#+/") {
			return bad("operators", "%q: a user name without blanks, '#', '+' or '/'", op)
		}
	}
	if c.Log.Level != "debug" && c.Log.Level != "info" && c.Log.Level != "warn" && c.Log.Level != "error" {
		return bad("log.level", "%q: must be one of debug, info, warn, error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		return bad("log.format", "%q: must be one of text, json", c.Log.Format)
	}
	return nil
}
