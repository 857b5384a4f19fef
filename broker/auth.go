package broker

import (
	"bytes"
	"crypto/subtle"
	"log/slog"
	"strings"
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// authHook admits clients and bounds what they may keep on the broker. It
// admits every client (anonymous) or those that present the one
// configured user name and password, and lets them publish and subscribe
// anywhere; it refuses a new session past maxClients and retains no new
// topic past maxRetained. mochi refuses every client when no hook admits
// it.
type authHook struct {
	mqtt.HookBase
	srv        *mqtt.Server
	log        *slog.Logger
	anonymous  bool
	user, pass []byte

	maxClients, maxRetained int
	retainFull              atomic.Bool // warned that maxRetained is reached
}

// ID names the hook in mochi's logs.
func (h *authHook) ID() string { return "onair-auth" }

// Provides tells mochi which hook methods are implemented.
func (h *authHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish}, []byte{b})
}

// OnConnectAuthenticate admits anonymous clients or compares the CONNECT
// credentials in constant time, and refuses a client identifier the
// broker has no session for when it already holds maxClients sessions
// (connected, or persistent and away until sessionExpiry). A refused
// MQTT 3.1.1 client gets a CONNACK refusal (§3.2.2.3; mochi maps MQTT
// 5's "bad user name or password" to return code 4) and the connection
// is closed (§3.1.4).
func (h *authHook) OnConnectAuthenticate(_ *mqtt.Client, pk packets.Packet) bool {
	if !h.anonymous {
		u := subtle.ConstantTimeCompare(pk.Connect.Username, h.user)
		p := subtle.ConstantTimeCompare(pk.Connect.Password, h.pass)
		if u&p != 1 {
			return false
		}
	}
	return h.sessionRoom(string(pk.Connect.ClientIdentifier))
}

// sessionRoom reports whether the client id may have a session: it has
// one already, or there is room for one more.
func (h *authHook) sessionRoom(id string) bool {
	if _, ok := h.srv.Clients.Get(id); ok {
		return true
	}
	if n := h.srv.Clients.Len(); n >= h.maxClients {
		h.log.Warn("broker: client refused: too many sessions", "client", id, "max", h.maxClients)
		return false
	}
	return true
}

// OnACLCheck allows every topic to an admitted client.
func (h *authHook) OnACLCheck(*mqtt.Client, string, bool) bool { return true }

// OnPublish delivers a retained message on a topic that holds none
// ($SYS topics aside)
// without retaining it once maxRetained topics hold one; replacing or
// clearing a retained message is always allowed.
func (h *authHook) OnPublish(_ *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if !pk.FixedHeader.Retain || len(pk.Payload) == 0 {
		return pk, nil
	}
	if _, ok := h.srv.Topics.Retained.Get(pk.TopicName); ok || retainedCount(h.srv) < h.maxRetained {
		h.retainFull.Store(false)
		return pk, nil
	}
	if !h.retainFull.Swap(true) {
		h.log.Warn("broker: too many retained messages, new topics are not retained", "topic", pk.TopicName, "max", h.maxRetained)
	}
	pk.FixedHeader.Retain = false
	return pk, nil
}

// retainedCount is the number of topics holding a retained message,
// besides the broker's own $SYS topics.
func retainedCount(srv *mqtt.Server) int {
	n := 0
	for topic := range srv.Topics.Retained.GetAll() {
		if !strings.HasPrefix(topic, "$") {
			n++
		}
	}
	return n
}
