package broker

import (
	"log/slog"
	"net"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
)

// Limits of the embedded broker. A standalone board serves a handful of
// clients (itself, onair ctl, a dashboard or two): the limits keep one
// local process from making the broker take the board's memory.
const (
	// DefaultMaxClients is Config.MaxClients when zero.
	DefaultMaxClients = 64
	// DefaultMaxRetained is Config.MaxRetained when zero.
	DefaultMaxRetained = 256
	// MaxPacketSize bounds every MQTT packet a client sends, in bytes:
	// just above a command's largest payload (device.MaxCommandSize, 64
	// KiB) and its topic. A larger packet closes the connection after its
	// fixed header, before anything is allocated for it.
	MaxPacketSize = 128 << 10
	// sessionExpiry is how long, in seconds, the session of a persistent
	// client that went away is kept (subscriptions, queued QoS 1
	// messages), instead of forever.
	sessionExpiry = 60 * 60
	// maxInflight bounds the QoS 1 and 2 messages stored for one client:
	// sent and not acknowledged, or queued while it is away.
	maxInflight = 256
	// maxWritesPending bounds the packets waiting to be written to one
	// client that reads slowly.
	maxWritesPending = 256
	// connectTimeout bounds the wait for a connection's CONNECT; mochi
	// then applies the client's keep alive.
	connectTimeout = 10 * time.Second
)

// capabilities are mochi's defaults with the limits above.
func capabilities() *mqtt.Capabilities {
	c := mqtt.NewDefaultServerCapabilities()
	c.MaximumPacketSize = MaxPacketSize
	c.MaximumSessionExpiryInterval = sessionExpiry
	c.MaximumInflight = maxInflight
	c.MaximumClientWritesPending = maxWritesPending
	// mochi drops a retained message, and a stored one, older than this
	// interval (a day by default): the board's retained state and status
	// would vanish from a board idle for a day. 0 keeps retained messages
	// as MQTT 3.1.1 does; stored messages end with their session
	// (sessionExpiry) and are bounded by maxInflight.
	c.MaximumMessageExpiryInterval = 0
	return c
}

// limitListener accepts at most cap(slots) connections at a time; one
// more is closed at once, before it costs anything but the accept. A
// connection gets connectTimeout to send its CONNECT.
type limitListener struct {
	net.Listener
	slots chan struct{}
	log   *slog.Logger
}

func newLimitListener(ln net.Listener, max int, log *slog.Logger) *limitListener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, max), log: log}
}

// Accept returns the next connection within the limit.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			_ = c.SetDeadline(time.Now().Add(connectTimeout))
			return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
		default:
			l.log.Debug("broker: connection refused: too many clients", "remote", c.RemoteAddr(), "max", cap(l.slots))
			_ = c.Close()
		}
	}
}

// limitedConn gives its slot back when closed.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

// Close closes the connection and frees its slot once.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
