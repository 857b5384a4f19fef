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

// authHook admits clients and bounds what they may do and keep on the
// broker. It admits every client (anonymous) or those that present the
// one configured user name and password; without a board they may
// publish and subscribe anywhere, with one see Board. It refuses a new
// session past maxClients and retains no new topic past maxRetained.
// mochi refuses every client when no hook admits it.
type authHook struct {
	mqtt.HookBase
	srv        *mqtt.Server
	log        *slog.Logger
	anonymous  bool
	user, pass []byte
	board      *Board // nil: no roles, every admitted client may do anything

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
//
// With a board, the board's and the operator's user names need their
// password (and are not held to maxClients), and only the board may use
// the board's client identifier: another client taking it would take
// over its session, its commands and its will.
func (h *authHook) OnConnectAuthenticate(_ *mqtt.Client, pk packets.Packet) bool {
	id := string(pk.Connect.ClientIdentifier)
	if b := h.board; b != nil {
		switch string(pk.Connect.Username) {
		case BoardUser:
			return equal(pk.Connect.Password, b.Credentials.Board)
		case OperatorUser:
			return equal(pk.Connect.Password, b.Credentials.Operator) && id != "onair-"+b.DeviceID
		}
		if id == "onair-"+b.DeviceID {
			h.log.Warn("broker: client refused: the board's client id without the board's credentials", "client", id)
			return false
		}
	}
	if !h.anonymous && subtle.ConstantTimeCompare(pk.Connect.Username, h.user)&subtle.ConstantTimeCompare(pk.Connect.Password, h.pass) != 1 {
		return false
	}
	return h.sessionRoom(id)
}

// equal compares a password in constant time.
func equal(got []byte, want string) bool {
	return subtle.ConstantTimeCompare(got, []byte(want)) == 1
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

// OnACLCheck allows every topic to an admitted client without a board,
// and applies Board's rules with one. mochi calls it for every PUBLISH
// received (a refused QoS 1 one from an MQTT 3.1.1 client closes its
// connection), every filter of a SUBSCRIBE, and every message it
// delivers.
func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if h.board == nil {
		return true
	}
	return h.board.access(h.role(cl), topic, write)
}

// role is what the admitted client cl is; OnConnectAuthenticate checked
// the password of the user names that give a role.
func (h *authHook) role(cl *mqtt.Client) role {
	switch u := string(cl.Properties.Username); {
	case u == BoardUser:
		return roleBoard
	case u == OperatorUser || (!h.anonymous && u == string(h.user)):
		return roleOperator
	}
	return roleAnonymous
}

// OnPublish delivers a retained message on a topic that holds none
// without retaining it once maxRetained topics ($SYS aside) hold one;
// replacing or clearing a retained message is always allowed.
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
