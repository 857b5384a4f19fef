package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"

	"github.com/spf13/cobra"

	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/internal/rtcapi"
	"github.com/onair-dev/onair/relay"
	"github.com/onair-dev/onair/web"
)

func newRelayCommand(stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "Serve channels: WHIP publish, WHEP subscribe, the listen page and the API",
		Long: `Relay is onair's embedded channel server. Hosts publish with WHIP to
/whip/{channel}, audiences subscribe with WHEP to /whep/{channel}, browsers
listen at /listen/{channel}, and /api/channels lists who is on air. Requests
carry HS256 tokens signed with relay.token_secret (see onair token); without
a secret the relay only starts with relay.allow_anonymous: true.`,
		Example: `  ONAIR_RELAY_TOKEN_SECRET=$(openssl rand -hex 32) onair relay --listen :8080
  ONAIR_RELAY_ALLOW_ANONYMOUS=true onair relay`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().String("listen", "", "address to serve HTTP on (relay.listen)")
	load := configFlags(cmd.Flags(), map[string]string{"listen": "relay.listen"})
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := load()
		if err != nil {
			return err
		}
		return runRelay(cmd.Context(), cfg, newLogger(cfg.Log, stderr))
	}
	return cmd
}

// errNoSecret refuses to serve or mint tokens without a secret.
var errNoSecret = errors.New("empty: set a secret (ONAIR_RELAY_TOKEN_SECRET) or, for a relay open to anyone, relay.allow_anonymous: true")

// runRelay serves the relay until ctx ends.
func runRelay(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	if cfg.Relay.TokenSecret == "" && !cfg.Relay.AllowAnonymous {
		return &config.Error{Key: "relay.token_secret", Err: errNoSecret}
	}
	r, err := relay.New(relayConfig(cfg), log)
	if err != nil {
		return err
	}
	defer r.Close()
	log.Info("relay serving", "listen", cfg.Relay.Listen, "anonymous", cfg.Relay.AllowAnonymous)
	return r.Run(ctx)
}

// relayConfig maps the configuration onto the relay's.
func relayConfig(cfg *config.Config) relay.Config {
	return relay.Config{
		Listen:             cfg.Relay.Listen,
		TokenSecret:        cfg.Relay.TokenSecret,
		AllowAnonymous:     cfg.Relay.AllowAnonymous,
		MaxSessions:        cfg.Relay.MaxSessions,
		MaxHostsPerChannel: cfg.Relay.MaxHostsPerChannel,
		DisconnectTimeout:  cfg.Relay.DisconnectTimeout,
		ICEServers:         iceServers(cfg),
		Network:            relayNetwork(cfg),
		Web:                web.Handler(),
	}
}

// relayNetwork is where the relay's peers gather candidates: with
// webrtc.loopback: auto, on loopback too when the relay listens on a
// loopback address or the machine has no other interface up (a board on
// its own), where a host or a listener on the same machine would
// otherwise find no candidate pair.
func relayNetwork(cfg *config.Config) rtcapi.NetworkConfig {
	host, _, _ := net.SplitHostPort(cfg.Relay.Listen)
	return network(cfg).ForPeer(context.Background(), host)
}
