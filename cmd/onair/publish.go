package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/daemon"
	"github.com/onair-dev/onair/device"
	"github.com/onair-dev/onair/session"
)

func newPublishCommand(stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Publish the input as a host into a channel (WHIP) until interrupted",
		Long: `Publish captures the input, encodes Opus and publishes it as a host into the
channel through the WHIP endpoint, reconnecting as needed, until SIGINT or
SIGTERM; then it deletes its session and exits.`,
		Example: `  onair publish --url http://127.0.0.1:8080/whip/{channel} --channel demo --input tone:440`,
		Args:    cobra.NoArgs,
	}
	f := cmd.Flags()
	f.String("url", "", "WHIP endpoint template, {channel} and {uid} substituted (uplink.whip_url)")
	f.String("input", "", "default | device index | device name | tone:<Hz> | file:<path.wav> (audio.input)")
	load := sessionFlags(f, map[string]string{"url": "uplink.whip_url", "input": "audio.input"})
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := load()
		if err != nil {
			return err
		}
		return runSession(cmd.Context(), cfg, device.RoleHost, newLogger(cfg.Log, stderr))
	}
	return cmd
}

func newListenCommand(stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "listen",
		Short: "Play a channel's hosts on the output as audience (WHEP) until interrupted",
		Long: `Listen subscribes to the channel through the WHEP endpoint as audience,
decodes and mixes every host and plays them on the output, reconnecting as
needed, until SIGINT or SIGTERM; then it deletes its session and exits.`,
		Example: `  onair listen --url http://127.0.0.1:8080/whep/{channel} --channel demo --output default`,
		Args:    cobra.NoArgs,
	}
	f := cmd.Flags()
	f.String("url", "", "WHEP endpoint template, {channel} and {uid} substituted (uplink.whep_url)")
	f.String("output", "", "default | device index | device name (audio.output)")
	load := sessionFlags(f, map[string]string{"url": "uplink.whep_url", "output": "audio.output"})
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := load()
		if err != nil {
			return err
		}
		return runSession(cmd.Context(), cfg, device.RoleAudience, newLogger(cfg.Log, stderr))
	}
	return cmd
}

// sessionFlags adds the flags publish and listen share to those of one
// command and returns the configuration loader.
func sessionFlags(f *pflag.FlagSet, keys map[string]string) func() (*config.Config, error) {
	f.String("token", "", "Bearer token (uplink.token)")
	f.String("channel", "", "channel name (uplink.channel)")
	f.String("uid", "", "user id (uplink.uid)")
	for flag, key := range map[string]string{"token": "uplink.token", "channel": "uplink.channel", "uid": "uplink.uid"} {
		keys[flag] = key
	}
	return configFlags(f, keys)
}

// runSession runs one channel session in role until ctx ends, logging
// each state change; the session is DELETEd before it returns.
func runSession(ctx context.Context, cfg *config.Config, role device.Role, log *slog.Logger) error {
	uid := cfg.Uplink.UID
	if uid == "" {
		uid, _ = os.Hostname()
	}
	// The uplink logs every state change of the session itself.
	sc := daemon.SessionConfig(cfg)
	sc.Channel, sc.UID, sc.Token, sc.Role, sc.Log = cfg.Uplink.Channel, uid, cfg.Uplink.Token, role, log
	s, err := session.New(sc)
	if err != nil {
		return err
	}
	log.Info("joining", "channel", cfg.Uplink.Channel, "uid", uid, "role", role)
	return s.Run(ctx)
}
