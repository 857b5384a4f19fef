// Package broker is the embedded MQTT broker of a standalone board: mochi-mqtt
// serving MQTT 3.1.1 and 5 over TCP (optionally TLS) with retained messages,
// last wills and persistent sessions kept in memory. A fleet points the
// boards at its own broker instead; this one exists so that one board with
// the shipped config is complete on its own.
package broker

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/onair-dev/onair/control"
)

// Errors of the package.
var (
	// ErrInvalidConfig wraps the configuration errors of New; the message
	// names the key.
	ErrInvalidConfig = errors.New("broker: invalid config")
	// ErrRunning is returned by a second call of Run.
	ErrRunning = errors.New("broker: already run")
)

// Config configures a Broker.
type Config struct {
	// Listen is the TCP address, "127.0.0.1:1883" on a standalone board;
	// port 0 picks a free port (see Addr).
	Listen string
	// Username and Password, when Username is set, are required of every
	// client (CONNECT, MQTT 3.1.1 §3.1.3.4); others are refused.
	Username, Password string
	// AllowAnonymous must be set to listen beyond loopback without a
	// Username: by default anonymous access is for this machine only.
	AllowAnonymous bool
	// CertFile and KeyFile, both or neither, make the listener TLS.
	CertFile, KeyFile string
	// Board, when set, is the standalone board this broker serves: its
	// connection, its operator and anonymous local clients get the
	// access Board describes. Nil: every admitted client may do anything.
	Board *Board
	// MaxClients bounds the connections at a time (one more is closed at
	// once) and the sessions, connected or kept for a persistent client
	// that is away (a new one more is refused); 0: DefaultMaxClients.
	MaxClients int
	// MaxRetained bounds the topics holding a retained message; past it a
	// retained message on a new topic is delivered but not retained. 0:
	// DefaultMaxRetained.
	MaxRetained int
	// Log receives the broker's logs; slog.Default() when nil.
	Log *slog.Logger
}

// Broker is an embedded MQTT broker: New binds the listener, Run serves.
type Broker struct {
	srv       *mqtt.Server
	ln        *listeners.Net
	log       *slog.Logger
	ran       atomic.Bool
	closeOnce sync.Once
}

// sysInterval is the period, in seconds, of the $SYS topics (1 s in mochi by
// default; a board has better things to do).
const sysInterval = 30

// New validates cfg, binds the listener and returns the Broker; it serves
// once Run is called. A Broker whose Run is never called must be Closed.
// Besides cfg's bounds, every packet is bounded by MaxPacketSize and a
// persistent session away for an hour ends.
func New(cfg Config) (*Broker, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cfg.MaxClients = cmp.Or(cfg.MaxClients, DefaultMaxClients)
	cfg.MaxRetained = cmp.Or(cfg.MaxRetained, DefaultMaxRetained)
	if err := validate(cfg); err != nil {
		return nil, err
	}
	log := cfg.Log.With("component", "broker")
	var tc *tls.Config
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: cert_file, key_file: %w", ErrInvalidConfig, err)
		}
		tc = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	srv := mqtt.New(&mqtt.Options{Logger: slog.New(mochiLog{log.Handler()}), SysTopicResendInterval: sysInterval,
		Capabilities: capabilities()})
	hook := &authHook{srv: srv, log: log, anonymous: cfg.Username == "", user: []byte(cfg.Username), pass: []byte(cfg.Password),
		maxClients: cfg.MaxClients, maxRetained: cfg.MaxRetained}
	if cfg.Board != nil {
		b := *cfg.Board
		b.TopicPrefix = cmp.Or(b.TopicPrefix, control.DefaultTopicPrefix)
		hook.board = &b
	}
	if err := srv.AddHook(hook, nil); err != nil {
		return nil, fmt.Errorf("broker: auth hook: %w", err)
	}
	tcp, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("broker: listen %s: %w", cfg.Listen, err)
	}
	var nl net.Listener = newLimitListener(tcp, cfg.MaxClients, log)
	if tc != nil {
		nl = tls.NewListener(nl, tc)
	}
	ln := listeners.NewNet("tcp", nl)
	if err := srv.AddListener(ln); err != nil {
		_ = tcp.Close()
		return nil, fmt.Errorf("broker: listen %s: %w", cfg.Listen, err)
	}
	return &Broker{srv: srv, ln: ln, log: log}, nil
}

// validate checks cfg; see Config.
func validate(cfg Config) error {
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return fmt.Errorf("%w: listen: %w", ErrInvalidConfig, err)
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return fmt.Errorf("%w: cert_file, key_file: both or neither", ErrInvalidConfig)
	}
	if cfg.MaxClients < 0 || cfg.MaxRetained < 0 {
		return fmt.Errorf("%w: max_clients, max_retained: must not be negative", ErrInvalidConfig)
	}
	if b := cfg.Board; b != nil {
		if err := control.CheckName(b.DeviceID); err != nil {
			return fmt.Errorf("%w: board device id: %w", ErrInvalidConfig, err)
		}
		if !b.Credentials.valid() {
			return fmt.Errorf("%w: board credentials: at least %d bytes each", ErrInvalidConfig, minSecret)
		}
		if cfg.Username == BoardUser || cfg.Username == OperatorUser {
			return fmt.Errorf("%w: username %q: reserved for the board's own credentials", ErrInvalidConfig, cfg.Username)
		}
	}
	if cfg.Password != "" && cfg.Username == "" {
		return fmt.Errorf("%w: password: needs a username", ErrInvalidConfig)
	}
	if cfg.Username == "" && !cfg.AllowAnonymous && !loopback(host) {
		return fmt.Errorf("%w: listen %q: beyond loopback, set a username or allow_anonymous", ErrInvalidConfig, cfg.Listen)
	}
	return nil
}

// loopback reports whether host only reaches this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr returns the address the broker listens on, with the port it got
// when Config.Listen asked for port 0.
func (b *Broker) Addr() string { return b.ln.Address() }

// Run serves until ctx ends, then closes the broker, disconnecting every
// client, and returns nil. Retained messages and sessions live in memory:
// they end with the process.
func (b *Broker) Run(ctx context.Context) error {
	if !b.ran.CompareAndSwap(false, true) {
		return ErrRunning
	}
	if err := b.srv.Serve(); err != nil {
		_ = b.Close()
		return fmt.Errorf("broker: serve: %w", err)
	}
	b.log.Info("broker: listening", "addr", b.Addr())
	<-ctx.Done()
	return b.Close()
}

// Close stops the listener and disconnects every client; it is safe to call
// more than once and concurrently with Run.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() { _ = b.srv.Close() })
	return nil
}
