package daemon

import (
	"sync/atomic"
	"time"

	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/control"
	"github.com/onair-dev/onair/device"
	"github.com/onair-dev/onair/token"
)

// newAgent builds the device agent of cfg; a reload that changes only the
// agent's sections builds a new one with the same parts.
func (p *parts) newAgent(cfg *config.Config) (*device.Agent, error) {
	ac := agentConfig(cfg)
	ac.DeviceID, ac.Version, ac.StateDir = p.id, p.version, p.dir
	ac.Publisher, ac.Heartbeat, ac.Autojoin = mqttPublisher{p.client}, p.heartbeat, autojoin(cfg)
	ac.OnState = func(r device.Reported) { _ = p.notify.Status(statusLine(r)) }
	ac.TokenFor, ac.Log = selfTokens(cfg, p.secret), p.log
	return device.NewAgent(ac)
}

// statusLine is systemd's status line for the state r: "on air: lobby as
// host", "retrying: <error message>", "joining: lobby", "idle".
func statusLine(r device.Reported) string {
	switch {
	case r.State == device.StateJoined && r.Channel != "" && (r.Role == device.RoleHost || r.Role == device.RoleAudience):
		return "on air: " + r.Channel + " as " + r.Role.String()
	case r.Error != nil:
		return r.State.String() + ": " + r.Error.Message
	case r.Channel != "":
		return r.State.String() + ": " + r.Channel
	}
	return r.State.String()
}

// agentHandler passes the MQTT client's calls to the current agent, so
// that a reload can replace the agent under a running client.
type agentHandler struct{ cur atomic.Pointer[device.Agent] }

func (h *agentHandler) Command(topic string, payload []byte) { h.cur.Load().Command(topic, payload) }
func (h *agentHandler) Connected()                           { h.cur.Load().Connected() }
func (h *agentHandler) Disconnected(err error)               { h.cur.Load().Disconnected(err) }

// mqttPublisher adapts the MQTT client to the agent.
type mqttPublisher struct{ *control.Client }

// DefaultReplyTopic is P/D/reply.
func (p mqttPublisher) DefaultReplyTopic() string { return p.Topics().Reply }

// autojoin is the desired state of a board fresh out of the box.
func autojoin(cfg *config.Config) *device.Desired {
	if !cfg.Device.Autojoin {
		return nil
	}
	role, err := device.ParseRole(cfg.Uplink.Role)
	if err != nil {
		role = device.RoleHost
	}
	return &device.Desired{Channel: cfg.Uplink.Channel, Role: role, Token: cfg.Uplink.Token, UID: cfg.Uplink.UID, GainDB: cfg.Audio.GainDB}
}

// selfTokenTTL is how long the tokens a board mints for its own relay last;
// a new one is minted for every session.
const selfTokenTTL = 30 * 24 * time.Hour

// selfTokens mints host tokens for the board's own embedded relay when it
// has a secret and uplink.token is empty; nil otherwise.
func selfTokens(cfg *config.Config, secret string) func(channel, uid string) string {
	if !cfg.Relay.Enabled || secret == "" || cfg.Uplink.Token != "" {
		return nil
	}
	return func(ch, uid string) string {
		tok, err := token.Mint([]byte(secret), token.Claims{Channel: ch, UID: uid, Role: token.RoleHost}, selfTokenTTL)
		if err != nil {
			return ""
		}
		return tok
	}
}
