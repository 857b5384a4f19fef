package control

import (
	"github.com/onair-dev/onair/internal/backoff"

	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"syscall"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// stopTimeout bounds the wait for the PUBACK of status offline when Run
// ends; quiesce is what paho may take to send DISCONNECT.
const (
	stopTimeout = time.Second
	quiesce     = 250 // ms
)

// Run keeps the device connected until ctx ends, then returns nil; it
// returns ErrRunning when called a second time.
//
// Each connection (runOnce) is a new MQTT 3.1.1 session attempt with
// client identifier "onair-"+D, CleanSession 0 (§3.1.2.4: the broker keeps
// the subscriptions and queues QoS 1 commands while the board is away) and
// the last will P/D/status "offline", QoS 1, retained (§3.1.2.5), which the
// broker publishes when the connection ends without DISCONNECT. Once
// connected it subscribes to P/D/cmd, P/all/cmd and P/group/G/cmd with
// QoS 1 (again every time: a broker that lost the session lost them too),
// publishes status "online" retained, sends what was published while
// disconnected and calls h.Connected. When the connection fails or is lost
// it calls h.Disconnected and tries again after a pause that doubles from
// RetryMin to RetryMax, with jitter, and starts again from RetryMin after
// every accepted connection (CONNACK): a broker restarted in a few seconds
// has the board back at once, whatever happened before. (A broker that
// accepts and then drops the client, two boards with one device id, is
// retried at RetryMin's pace.)
//
// Messages on other topics than the command topics (the subscription of a
// group the config no longer has, kept by the persistent session) and
// retained messages (a command published with RETAIN would be replayed on
// every subscription, §3.3.1.3) are dropped with a log instead of reaching
// h.Command.
//
// When ctx ends, Run publishes status "offline" retained, waits up to a
// second for its PUBACK, sends DISCONNECT (§3.14: the broker then discards
// the will) and returns. A connection attempt in progress is abandoned:
// Run returns at once, and paho ends the attempt, closing the connection
// if it succeeded, within ConnectTimeout.
func (c *Client) Run(ctx context.Context, h Handler) error {
	if !c.ran.CompareAndSwap(false, true) {
		return ErrRunning
	}
	bo := backoff.New(c.s.cfg.RetryMin, c.s.cfg.RetryMax)
	for {
		accepted, err := c.runOnce(ctx, h)
		if ctx.Err() != nil {
			return nil
		}
		h.Disconnected(err)
		if accepted {
			bo.Reset()
		}
		wait := bo.Next()
		if c.retrying != nil {
			c.retrying(wait, accepted)
		}
		c.log.Warn("mqtt: disconnected", "broker", c.s.broker.Redacted(), "error", err, "retry_in", wait.Round(time.Millisecond))
		if !backoff.Sleep(ctx, wait) {
			return nil
		}
	}
}

// runOnce connects once and serves the connection until it is lost or ctx
// ends; accepted tells whether the broker accepted it (CONNACK).
func (c *Client) runOnce(ctx context.Context, h Handler) (accepted bool, err error) {
	lost := make(chan error, 1) // paho reports a lost connection once per client
	o := c.s.options("onair-"+c.s.cfg.DeviceID, false).
		SetStore(c.store).
		SetWill(c.topics.Status, StatusOffline, 1, true).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { c.deliver(h, m) }).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { lost <- err })
	pc := mqtt.NewClient(o)
	tok := pc.Connect()
	if err := wait(ctx, tok); err != nil {
		if ctx.Err() != nil {
			pc.Disconnect(0)
			return false, ctx.Err()
		}
		return false, fmt.Errorf("control: %w", connectError(c.s, err))
	}
	c.log.Info("mqtt: connected", "broker", c.s.broker.Redacted(),
		"session_present", tok.(*mqtt.ConnectToken).SessionPresent())
	if err := c.start(ctx, pc); err != nil {
		c.detach()
		if ctx.Err() != nil {
			c.stop(pc)
			return true, nil
		}
		pc.Disconnect(0)
		return true, err
	}
	h.Connected()
	select {
	case err := <-lost:
		c.detach()
		return true, fmt.Errorf("control: connection lost: %w", err)
	case <-ctx.Done():
		c.detach()
		c.stop(pc)
		return true, nil
	}
}

// start subscribes, publishes status online and sends what waited.
func (c *Client) start(ctx context.Context, pc mqtt.Client) error {
	filters := make(map[string]byte, len(c.commands))
	for _, t := range c.commands {
		filters[t] = 1
	}
	tok := pc.SubscribeMultiple(filters, nil) // nil: the default handler gets them
	if err := waitTimeout(ctx, tok, c.s.cfg.ConnectTimeout); err != nil {
		return fmt.Errorf("control: subscribe: %w", err)
	}
	// A SUBACK return code 0x80 is a refused subscription (§3.9.3), an ACL
	// for instance: the others still work, so it is logged, not retried.
	for topic, code := range tok.(*mqtt.SubscribeToken).Result() {
		if code > 2 {
			c.log.Error("mqtt: subscription refused by the broker", "topic", topic, "code", code)
		}
	}
	if err := waitTimeout(ctx, pc.Publish(c.topics.Status, 1, true, StatusOnline), c.s.cfg.ConnectTimeout); err != nil {
		return fmt.Errorf("control: publish status: %w", err)
	}
	return c.attach(pc)
}

// stop ends a connection cleanly: status offline, then DISCONNECT.
func (c *Client) stop(pc mqtt.Client) {
	tok := pc.Publish(c.topics.Status, 1, true, StatusOffline)
	if !tok.WaitTimeout(stopTimeout) || tok.Error() != nil {
		c.log.Warn("mqtt: status offline not acknowledged", "error", tok.Error())
	}
	pc.Disconnect(quiesce)
	c.log.Info("mqtt: disconnected")
}

// deliver passes a command to h; see Run for what it drops.
func (c *Client) deliver(h Handler, m mqtt.Message) {
	switch {
	case m.Retained():
		c.log.Warn("mqtt: retained command ignored", "topic", m.Topic())
	case !slices.Contains(c.commands, m.Topic()):
		c.log.Warn("mqtt: message on a topic not subscribed ignored", "topic", m.Topic())
	default:
		h.Command(m.Topic(), m.Payload())
	}
}

// wait waits for tok or ctx.
func wait(ctx context.Context, tok mqtt.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitTimeout waits for tok, ctx or d.
func waitTimeout(ctx context.Context, tok mqtt.Token, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return wait(ctx, tok)
}

// connectError names the broker, marks refused credentials and explains a
// TLS connection closed without a word: under TLS 1.3 a broker that
// requires a client certificate checks it after the client has finished
// its handshake, and the client may see a reset or EOF instead of the
// alert "certificate required".
func connectError(s *setup, err error) error {
	switch {
	case s.tls != nil && s.cfg.CertFile == "" &&
		(errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF)):
		err = fmt.Errorf("%w (no client certificate is configured: does the broker require one? cert_file, key_file)", err)
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword):
		err = fmt.Errorf("%w: bad user name or password (CONNACK return code 4)", ErrUnauthorized)
	case errors.Is(err, packets.ErrorRefusedNotAuthorised):
		err = fmt.Errorf("%w (CONNACK return code 5)", ErrUnauthorized)
	}
	return fmt.Errorf("connect %s: %w", s.broker.Redacted(), err)
}
