package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"

	"github.com/spf13/cobra"

	"github.com/onair-dev/onair/fleet"
	"github.com/onair-dev/onair/internal/cli"
)

// Version and Commit are stamped at build time with
// -ldflags "-X main.Version=… -X main.Commit=…".
var (
	Version = "dev"
	Commit  = "unknown"
)

// app is what every subcommand shares: the configuration loader and the
// output streams.
type app struct {
	load           func() (*fleet.Config, error)
	stdout, stderr io.Writer
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "onair-fleet",
		Short:         "Fleet server for onair boards: enrollment, CA, registry, broker ACL and CRL",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version + " (commit " + Commit + ")",
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &cli.UsageError{Err: err} })
	a := &app{load: fleet.Flags(root.PersistentFlags()), stdout: stdout, stderr: stderr}
	root.AddCommand(
		a.serveCommand(),
		a.claimCommand(),
		a.deviceCommand("revoke", "Revoke a device: no renewal, no enrollment, its certificates in the CRL",
			func(ctx context.Context, s *fleet.Server, d, who string) error { return s.Revoke(ctx, d, who) }),
		a.deviceCommand("readmit", "Let a revoked or re-keyed device enroll again (with a new claim)",
			func(ctx context.Context, s *fleet.Server, d, who string) error { return s.Readmit(ctx, d, who) }),
		a.aclCommand(),
		a.devicesCommand(),
		a.auditCommand(),
		a.brokerCertCommand(),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			Run: func(cmd *cobra.Command, _ []string) {
				fmt.Fprintf(cmd.OutOrStdout(), "onair-fleet %s (commit %s)\n", Version, Commit)
			},
		},
	)
	return root
}

// open loads the configuration and opens the fleet.
func (a *app) open(ctx context.Context) (*fleet.Server, *slog.Logger, error) {
	cfg, err := a.load()
	if err != nil {
		return nil, nil, err
	}
	log := newLogger(cfg, a.stderr)
	s, err := fleet.Open(ctx, *cfg, log)
	return s, log, err
}

// with runs f on the opened fleet and closes it.
func (a *app) with(ctx context.Context, f func(*fleet.Server) error) error {
	s, _, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	return f(s)
}

// operator names who runs the command, for the audit log: the user behind
// sudo, else the current user.
func operator() string {
	if u := os.Getenv("SUDO_USER"); u != "" {
		return "operator:" + u
	}
	if u, err := user.Current(); err == nil {
		return "operator:" + u.Username
	}
	return "operator:uid-" + fmt.Sprint(os.Getuid())
}

func newLogger(c *fleet.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(c.Log.Level)))
	opts := &slog.HandlerOptions{Level: level}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
