package broker

import (
	"bytes"
	"crypto/subtle"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// authHook admits every client (anonymous) or those that present the one
// configured user name and password, and lets them publish and subscribe
// anywhere. mochi refuses every client when no hook admits it.
type authHook struct {
	mqtt.HookBase
	anonymous  bool
	user, pass []byte
}

// ID names the hook in mochi's logs.
func (h *authHook) ID() string { return "onair-auth" }

// Provides tells mochi which hook methods are implemented.
func (h *authHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck}, []byte{b})
}

// OnConnectAuthenticate admits anonymous clients or compares the CONNECT
// credentials in constant time. A refused MQTT 3.1.1 client gets the
// CONNACK return code 5, not authorized (§3.2.2.3; mochi maps MQTT 5's
// "bad user name or password" to it), and the connection is closed
// (§3.1.4).
func (h *authHook) OnConnectAuthenticate(_ *mqtt.Client, pk packets.Packet) bool {
	if h.anonymous {
		return true
	}
	u := subtle.ConstantTimeCompare(pk.Connect.Username, h.user)
	p := subtle.ConstantTimeCompare(pk.Connect.Password, h.pass)
	return u&p == 1
}

// OnACLCheck allows every topic to an admitted client.
func (h *authHook) OnACLCheck(*mqtt.Client, string, bool) bool { return true }
