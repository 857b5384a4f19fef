package control

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/onair-dev/onair/internal/defaults"
)

// Config configures a Client (New) and a one-shot request (Request).
type Config struct {
	// Broker is the broker's URL: tcp://host[:1883], ssl://host[:8883]
	// (also mqtt://, tls://, mqtts://), ws://host:port/path or
	// wss://host:port/path.
	Broker string
	// DeviceID is D in the topics and in the client identifier "onair-"+D;
	// see CheckName. Request ignores it.
	DeviceID string
	// TopicPrefix is P, "onair" when empty; one or more names joined by '/'.
	TopicPrefix string
	// Groups are the groups whose P/group/G/cmd the device subscribes to.
	Groups []string
	// Username and Password go in CONNECT (MQTT 3.1.1 §3.1.3.4, §3.1.3.5); a
	// password needs a user name (§3.1.2.9).
	Username, Password string
	// CAFile is a PEM bundle of the CAs that verify the broker's
	// certificate; empty: the system's roots. TLS URLs only.
	CAFile string
	// CertFile and KeyFile are the PEM client certificate and key of mutual
	// TLS, both or neither. They are read again at every TLS handshake, so
	// a renewed certificate is used from the next connection on.
	CertFile, KeyFile string
	// KeepAlive is the interval of PINGREQ when idle (§3.1.2.10), 30 s when
	// zero; a broker that hears nothing for 1.5 times it publishes the will.
	KeepAlive time.Duration
	// ConnectTimeout bounds one connection attempt: dial, TLS handshake,
	// CONNECT/CONNACK; 10 s when zero.
	ConnectTimeout time.Duration
	// RetryMin and RetryMax bound the pause between connection attempts:
	// it starts at RetryMin, doubles up to RetryMax, with jitter; 500 ms and
	// 30 s when zero.
	RetryMin, RetryMax time.Duration
	// Log receives the client's logs; slog.Default() when nil.
	Log *slog.Logger
}

// Defaults of Config.
const (
	DefaultTopicPrefix    = defaults.MQTTTopicPrefix
	DefaultKeepAlive      = 30 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultRetryMin       = 500 * time.Millisecond
	DefaultRetryMax       = 30 * time.Second
)

// setup is a validated Config with what was derived from it.
type setup struct {
	cfg    Config
	broker *url.URL
	tls    *tls.Config // nil for tcp:// and ws://
}

// prepare fills in defaults and validates cfg; device says whether
// DeviceID and Groups are needed (a Client) or ignored (Request).
func prepare(cfg Config, device bool) (*setup, error) {
	if cfg.TopicPrefix == "" {
		cfg.TopicPrefix = DefaultTopicPrefix
	}
	cfg.KeepAlive = orDefault(cfg.KeepAlive, DefaultKeepAlive)
	cfg.ConnectTimeout = orDefault(cfg.ConnectTimeout, DefaultConnectTimeout)
	cfg.RetryMin = orDefault(cfg.RetryMin, DefaultRetryMin)
	cfg.RetryMax = orDefault(cfg.RetryMax, DefaultRetryMax)
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	bad := func(key, format string, args ...any) (*setup, error) {
		return nil, fmt.Errorf("%w: %s: %s", ErrInvalidConfig, key, fmt.Sprintf(format, args...))
	}
	if device {
		if err := checkDeviceID(cfg.DeviceID); err != nil {
			return bad("device_id", "%v", err)
		}
		for _, g := range cfg.Groups {
			if err := CheckName(g); err != nil {
				return bad("groups", "%v", err)
			}
		}
	}
	if err := checkPrefix(cfg.TopicPrefix); err != nil {
		return bad("topic_prefix", "%v", err)
	}
	u, secure, err := parseBroker(cfg.Broker)
	if err != nil {
		return bad("broker", "%v", err)
	}
	if cfg.Password != "" && cfg.Username == "" {
		return bad("password", "needs a username (MQTT 3.1.1 §3.1.2.9)")
	}
	switch {
	case cfg.KeepAlive < time.Second || cfg.KeepAlive > 65535*time.Second:
		return bad("keep_alive", "%s: must be 1s … 65535s", cfg.KeepAlive)
	case cfg.ConnectTimeout < 0:
		return bad("connect_timeout", "%s: must be positive", cfg.ConnectTimeout)
	case cfg.RetryMin < 0 || cfg.RetryMax < cfg.RetryMin:
		return bad("retry_max", "%s: must be at least retry_min %s", cfg.RetryMax, cfg.RetryMin)
	}
	s := &setup{cfg: cfg, broker: u}
	if !secure {
		for _, kv := range [][2]string{{"ca_file", cfg.CAFile}, {"cert_file", cfg.CertFile}, {"key_file", cfg.KeyFile}} {
			if kv[1] != "" {
				return bad(kv[0], "needs a TLS broker URL (ssl://, wss://), not %s://", u.Scheme)
			}
		}
		return s, nil
	}
	if s.tls, err = tlsConfig(cfg); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// parseBroker checks a broker URL and adds the default port of tcp and ssl
// URLs; secure tells whether the scheme is a TLS one.
func parseBroker(s string) (u *url.URL, secure bool, err error) {
	u, err = url.Parse(s)
	if err != nil {
		return nil, false, err
	}
	u.Scheme = strings.ToLower(u.Scheme)
	port := ""
	switch u.Scheme {
	case "tcp", "mqtt":
		port = "1883"
	case "ssl", "tls", "mqtts":
		port, secure = "8883", true
	case "ws":
	case "wss":
		secure = true
	default:
		return nil, false, fmt.Errorf("%q: scheme must be tcp, mqtt, ssl, tls, mqtts, ws or wss", s)
	}
	if u.Hostname() == "" {
		return nil, false, fmt.Errorf("%q: no host", s)
	}
	if port != "" && u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	return u, secure, nil
}

// tlsConfig verifies the broker with CAFile (or the system roots) and
// presents CertFile/KeyFile when the broker asks for a client certificate.
func tlsConfig(cfg Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file: %s: no PEM certificate", cfg.CAFile)
		}
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, fmt.Errorf("cert_file, key_file: both or neither")
	}
	if cfg.CertFile == "" {
		return tc, nil
	}
	if _, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile); err != nil {
		return nil, fmt.Errorf("cert_file, key_file: %w", err)
	}
	tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		c, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("control: client certificate: %w", err)
		}
		return &c, nil
	}
	return tc, nil
}
