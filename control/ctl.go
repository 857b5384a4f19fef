package control

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// DefaultRequestTimeout is Request's timeout when it is given none.
const DefaultRequestTimeout = 10 * time.Second

// Request sends one command to device and returns its reply, for onair ctl.
//
// cmd must be a JSON object (else the error wraps ErrInvalidCommand).
// Request sets its "reply_to" to a topic of its own, P/ctl/<random>/reply,
// replacing any reply_to cmd has, and gives it a random "id" ("ctl-…") when
// it has none. It connects with a random client identifier and a clean
// session (no will), subscribes to reply_to with QoS 1, publishes the
// command to P/<device>/cmd with QoS 1, waits for the PUBACK and then for
// the first message on reply_to whose "id" equals the command's, and
// returns that message's payload as it came. The whole exchange, connection
// included, is bounded by timeout (DefaultRequestTimeout when ≤ 0) and ctx;
// past the timeout the error wraps ErrTimeout. cfg.DeviceID and
// cfg.Groups are ignored; retry settings do not apply (one attempt).
//
// A device that is offline may still get the command later from its
// persistent session: give the command an "expires_at" where that matters.
func Request(ctx context.Context, cfg Config, device string, cmd []byte, timeout time.Duration) ([]byte, error) {
	s, err := prepare(cfg, false)
	if err != nil {
		return nil, err
	}
	if err := checkDeviceID(device); err != nil {
		return nil, fmt.Errorf("control: request: device %w", err)
	}
	nonce, err := randomHex()
	if err != nil {
		return nil, err
	}
	replyTo := ctlReplyTopic(s.cfg.TopicPrefix, nonce)
	cmd, id, err := prepareCommand(cmd, replyTo, "ctl-"+nonce[:8])
	if err != nil {
		return nil, fmt.Errorf("control: request: %w", err)
	}
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fail := func(op string, err error) ([]byte, error) {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			err = ErrTimeout
		}
		return nil, fmt.Errorf("control: request %s to %s: %s: %w", id, device, op, err)
	}

	replies := make(chan []byte, 1)
	o := s.options("onair-ctl-"+nonce, true).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			if m.Topic() == replyTo && replyID(m.Payload()) == id {
				select {
				case replies <- m.Payload():
				default: // a duplicate (QoS 1 is at least once)
				}
			}
		})
	pc := mqtt.NewClient(o)
	if err := wait(ctx, pc.Connect()); err != nil {
		if ctx.Err() != nil {
			pc.Disconnect(0)
			return fail("connect", ctx.Err())
		}
		return nil, fmt.Errorf("control: request %s to %s: %w", id, device, connectError(s, err))
	}
	defer pc.Disconnect(quiesce)
	if err := wait(ctx, pc.Subscribe(replyTo, 1, nil)); err != nil {
		return fail("subscribe", err)
	}
	cmdTopic := s.cfg.TopicPrefix + "/" + device + "/cmd"
	if err := wait(ctx, pc.Publish(cmdTopic, 1, false, cmd)); err != nil {
		return fail("publish", err)
	}
	select {
	case r := <-replies:
		return r, nil
	case <-ctx.Done():
		return fail("wait for the reply", ctx.Err())
	}
}

// prepareCommand sets reply_to in the JSON object cmd, and id when it has
// none; it returns the command and its id as compact JSON.
func prepareCommand(cmd []byte, replyTo, defaultID string) ([]byte, string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(cmd, &obj); err != nil || obj == nil {
		if err == nil {
			err = errors.New("null")
		}
		return nil, "", fmt.Errorf("%w: %w", ErrInvalidCommand, err)
	}
	if _, ok := obj["id"]; !ok {
		obj["id"], _ = json.Marshal(defaultID)
	}
	obj["reply_to"], _ = json.Marshal(replyTo)
	out, err := json.Marshal(obj)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrInvalidCommand, err)
	}
	return out, compact(obj["id"]), nil
}

// replyID is the compact JSON of a reply's "id", "" if it has none.
func replyID(payload []byte) string {
	var r struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(payload, &r) != nil || r.ID == nil {
		return ""
	}
	return compact(r.ID)
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// randomHex returns 16 random hex digits.
func randomHex() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("control: random: %w", err)
	}
	return hex.EncodeToString(b), nil
}
