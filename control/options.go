package control

import (
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// writeTimeout bounds how long a publish may wait to be handed to the
// connection and one socket write; past it the message stays in the session
// store and is sent again on the next connection.
const writeTimeout = 5 * time.Second

// options are the paho options every connection of s shares. Reconnection
// is Run's job: paho's own (AutoReconnect, ConnectRetry) is off.
func (s *setup) options(clientID string, cleanSession bool) *mqtt.ClientOptions {
	o := mqtt.NewClientOptions().
		AddBroker(s.broker.String()).
		SetClientID(clientID).
		SetProtocolVersion(4). // MQTT 3.1.1, no fallback to 3.1
		SetCleanSession(cleanSession).
		SetKeepAlive(s.cfg.KeepAlive).
		SetPingTimeout(min(s.cfg.KeepAlive, 10*time.Second)).
		SetConnectTimeout(s.cfg.ConnectTimeout).
		SetWriteTimeout(writeTimeout).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetOrderMatters(true)
	if s.cfg.Username != "" {
		o.SetUsername(s.cfg.Username).SetPassword(s.cfg.Password)
	}
	if s.tls != nil {
		o.SetTLSConfig(s.tls)
	}
	return o
}
