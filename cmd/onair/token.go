package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/internal/cli"
	"github.com/onair-dev/onair/token"
)

func newTokenCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print a token for the relay: channel, uid, role, expiry, signed with relay.token_secret",
		Example: `  ONAIR_RELAY_TOKEN_SECRET=… onair token --channel demo --uid 7 --role host --ttl 1h
  onair token --config /etc/onair/config.yaml --channel demo --uid web --role audience --ttl 24h`,
		Args: cobra.NoArgs,
	}
	f := cmd.Flags()
	ch := f.String("channel", "", "channel the token admits to (required)")
	uid := f.String("uid", "", "uid of the bearer (required)")
	role := f.String("role", "host", "host (publish and subscribe) or audience (subscribe only)")
	ttl := f.Duration("ttl", time.Hour, "how long the token is valid")
	load := configFlags(f, nil)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := load()
		if err != nil {
			return err
		}
		if cfg.Relay.TokenSecret == "" {
			return &config.Error{Key: "relay.token_secret", Err: errors.New("empty: tokens need the relay's secret")}
		}
		r, err := token.ParseRole(*role)
		if err != nil {
			return &cli.UsageError{Err: fmt.Errorf("--role: %w", err)}
		}
		if *ttl <= 0 {
			return &cli.UsageError{Err: fmt.Errorf("--ttl %s: must be positive", *ttl)}
		}
		tok, err := token.Mint([]byte(cfg.Relay.TokenSecret), token.Claims{Channel: *ch, UID: *uid, Role: r}, *ttl)
		if err != nil {
			return &cli.UsageError{Err: err}
		}
		fmt.Fprintln(stdout, tok)
		return nil
	}
	return cmd
}
