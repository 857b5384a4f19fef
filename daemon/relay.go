package daemon

import (
	"context"
	"net"
	"net/url"
	"time"

	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/internal/rtcapi"
	"github.com/onair-dev/onair/relay"
	"github.com/onair-dev/onair/token"
	"github.com/onair-dev/onair/web"
)

// RelayConfig maps the configuration onto the relay's: the embedded relay
// of `onair run` and the standalone one of `onair relay`.
func RelayConfig(cfg *config.Config) relay.Config {
	return relay.Config{
		Listen:             cfg.Relay.Listen,
		TokenSecret:        cfg.Relay.TokenSecret,
		AllowAnonymous:     cfg.Relay.AllowAnonymous,
		MaxSessions:        cfg.Relay.MaxSessions,
		MaxHostsPerChannel: cfg.Relay.MaxHostsPerChannel,
		DisconnectTimeout:  cfg.Relay.DisconnectTimeout,
		ConnectTimeout:     cfg.Relay.ConnectTimeout,
		MaxPendingPerUID:   cfg.Relay.MaxPendingPerUID,
		MaxPendingPerAddr:  cfg.Relay.MaxPendingPerAddr,
		HostReserve:        cfg.Relay.HostReserve,
		CertFile:           cfg.Relay.TLS.CertFile,
		KeyFile:            cfg.Relay.TLS.KeyFile,
		ICEServers:         ICEServers(cfg),
		Network:            relayNetwork(cfg),
		Web:                web.Handler(),
	}
}

// BrokerURL is the URL of the configured broker: mqtt.broker, or the
// embedded broker's mqtt.listen.
func BrokerURL(cfg *config.Config) string {
	if cfg.MQTT.Broker == "embedded" {
		return "tcp://" + cfg.MQTT.Listen
	}
	return cfg.MQTT.Broker
}

// brokerURL is the URL the agent connects to: the running embedded
// broker's address (its port chosen when mqtt.listen asked for 0), else
// BrokerURL.
func brokerURL(cfg *config.Config, embedded string) string {
	if embedded != "" {
		return "tcp://" + embedded
	}
	return BrokerURL(cfg)
}

// listenURL is the listen page of the autojoin channel on this board's
// relay, with an audience token valid for a day when the relay needs one.
func listenURL(cfg *config.Config, secret string) string {
	host := "127.0.0.1"
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil && !ip.IP.IsLoopback() {
				host = ip.IP.String()
				break
			}
		}
	}
	_, port, _ := net.SplitHostPort(cfg.Relay.Listen)
	u := "http://" + net.JoinHostPort(host, port) + "/listen/" + url.PathEscape(cfg.Uplink.Channel)
	if secret != "" {
		tok, err := token.Mint([]byte(secret), token.Claims{Channel: cfg.Uplink.Channel, UID: "listener", Role: token.RoleAudience}, 24*time.Hour)
		if err == nil {
			u += "?token=" + tok
		}
	}
	return u
}

// relayNetwork is where the relay's peers gather candidates: with
// webrtc.loopback: auto, on loopback too when the relay listens on a
// loopback address or the machine has no other interface up (a board on
// its own), where a host or a listener on the same machine would
// otherwise find no candidate pair.
func relayNetwork(cfg *config.Config) rtcapi.NetworkConfig {
	host, _, _ := net.SplitHostPort(cfg.Relay.Listen)
	return Network(cfg).ForPeer(context.Background(), host)
}
