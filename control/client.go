package control

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Status payloads of P/D/status.
const (
	StatusOnline  = "online"
	StatusOffline = "offline"
)

// maxPending is how many QoS 1 messages wait for the connection while there
// is none; beyond it the oldest are dropped.
const maxPending = 1000

// Handler receives what the Client hears. Command is called from paho's
// delivery goroutine, one message at a time in arrival order; Connected and
// Disconnected from Run's goroutine. None may block, nor call the Client's
// Publish methods before returning: the agent queues an event and returns.
type Handler interface {
	// Command delivers a PUBLISH received on one of the device's command
	// topics, whatever its size or content: the agent checks it and
	// answers. QoS 1 means at least once (MQTT 3.1.1 §4.3.2): a command may
	// arrive twice. A retained message is not passed on (see Run).
	Command(topic string, payload []byte)
	// Connected is called after every successful connection, once the
	// command subscriptions are in place, status is online and the
	// messages that waited for the connection are sent: the agent then
	// republishes its retained state.
	Connected()
	// Disconnected is called when a connection attempt fails or an
	// established connection is lost, with the cause. It is not called
	// when Run ends.
	Disconnected(err error)
}

// Client is the device's MQTT session; see Run. Its Publish methods may be
// called from any goroutine, before, during and after Run; they keep the
// payload until it is sent, so the caller must not modify it afterwards.
type Client struct {
	s          *setup
	topics     Topics
	commands   []string
	log        *slog.Logger
	store      mqtt.Store // shared by the paho clients of successive connections
	maxPending int
	ran        atomic.Bool
	// retrying, if set, hears every pause Run takes before a connection
	// attempt and whether the connection before it was accepted (tests).
	retrying func(wait time.Duration, accepted bool)

	mu      sync.Mutex
	conn    mqtt.Client // the live connection; nil while there is none
	pending []message   // QoS 1 messages published while conn was nil
	dropped int         // pending messages dropped since the last connection
}

// message is one PUBLISH to send.
type message struct {
	topic    string
	payload  []byte
	qos      byte
	retained bool
}

// New validates cfg (see Config; errors wrap ErrInvalidConfig and name the
// key) and returns a Client that connects when Run is called.
func New(cfg Config) (*Client, error) {
	s, err := prepare(cfg, true)
	if err != nil {
		return nil, err
	}
	t := NewTopics(s.cfg.TopicPrefix, s.cfg.DeviceID, s.cfg.Groups)
	return &Client{
		s:          s,
		topics:     t,
		commands:   t.Commands(),
		log:        s.cfg.Log.With("component", "mqtt", "device", s.cfg.DeviceID),
		store:      mqtt.NewOrderedMemoryStore(),
		maxPending: maxPending,
	}, nil
}

// Topics returns the device's topic names.
func (c *Client) Topics() Topics {
	t := c.topics
	t.Groups = slices.Clone(t.Groups)
	return t
}

// PublishReply publishes a command's reply, QoS 1, not retained, to topic:
// the command's reply_to, or P/D/reply when topic is empty. A topic that
// CheckReplyTo refuses is an error wrapping ErrInvalidTopic (the agent
// checks reply_to before it obeys a command and answers such a one on
// P/D/reply).
func (c *Client) PublishReply(topic string, payload []byte) error {
	if topic == "" {
		topic = c.topics.Reply
	} else if err := CheckReplyTo(c.s.cfg.TopicPrefix, topic); err != nil {
		return err
	}
	return c.publish(message{topic: topic, payload: payload, qos: 1})
}

// PublishState publishes the reported state to P/D/state, QoS 1, retained.
// While disconnected only the latest state waits for the connection.
func (c *Client) PublishState(payload []byte) error {
	return c.publish(message{topic: c.topics.State, payload: payload, qos: 1, retained: true})
}

// PublishTelemetry publishes a sample to P/D/telemetry with QoS 0: while
// disconnected the sample is dropped, not queued.
func (c *Client) PublishTelemetry(payload []byte) error {
	return c.publish(message{topic: c.topics.Telemetry, payload: payload})
}

// PublishEvent publishes an event to P/D/events, QoS 1, not retained.
func (c *Client) PublishEvent(payload []byte) error {
	return c.publish(message{topic: c.topics.Events, payload: payload, qos: 1})
}

// publish hands m to the live connection, or keeps it for the next one.
// It returns without waiting for the PUBACK; nil means the message is sent
// or waiting for the connection (QoS 1, up to maxPending of them) or, for
// QoS 0, sent or dropped. A QoS 1 message handed to a connection that is
// then lost before its PUBACK stays in the session store and is sent again,
// with DUP set, on the next connection (MQTT 3.1.1 §4.4).
func (c *Client) publish(m message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		err := send(c.conn, m)
		if !errors.Is(err, mqtt.ErrNotConnected) {
			if err != nil {
				return fmt.Errorf("control: publish %s: %w", m.topic, err)
			}
			return nil
		}
	}
	if m.qos > 0 {
		c.enqueueLocked(m)
	}
	return nil
}

// send publishes m on pc and returns an error paho reports at once (not
// connected, no packet identifier left, write timeout) without waiting for
// the PUBACK.
func send(pc mqtt.Client, m message) error {
	tok := pc.Publish(m.topic, m.qos, m.retained, m.payload)
	select {
	case <-tok.Done():
		return tok.Error()
	default:
		return nil
	}
}

// enqueueLocked keeps m for the next connection. A retained message
// replaces one waiting for the same topic: the broker keeps only the last
// one anyway (MQTT 3.1.1 §3.3.1.3).
func (c *Client) enqueueLocked(m message) {
	if m.retained {
		c.pending = slices.DeleteFunc(c.pending, func(p message) bool { return p.retained && p.topic == m.topic })
	}
	if len(c.pending) >= c.maxPending {
		c.pending = slices.Delete(c.pending, 0, 1)
		if c.dropped == 0 {
			c.log.Warn("mqtt: too many messages waiting for the connection, dropping the oldest", "max", c.maxPending)
		}
		c.dropped++
	}
	c.pending = append(c.pending, m)
}

// attach sends the messages that waited, in order, on the new connection
// pc and makes it the live one. If pc is lost meanwhile the unsent
// messages keep waiting and the error is returned.
func (c *Client) attach(pc mqtt.Client) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropped > 0 {
		c.log.Warn("mqtt: messages dropped while disconnected", "count", c.dropped)
		c.dropped = 0
	}
	for i, m := range c.pending {
		err := send(pc, m)
		if errors.Is(err, mqtt.ErrNotConnected) {
			c.pending = c.pending[i:]
			return fmt.Errorf("send waiting messages: %w", err)
		}
		if err != nil {
			c.log.Warn("mqtt: message dropped", "topic", m.topic, "error", err)
		}
	}
	c.pending = nil
	c.conn = pc
	return nil
}

// detach makes publishes wait for the next connection.
func (c *Client) detach() {
	c.mu.Lock()
	c.conn = nil
	c.mu.Unlock()
}
