package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/internal/cli"
)

// Version and Commit are stamped at build time with
// -ldflags "-X main.Version=… -X main.Commit=…".
var (
	Version = "dev"
	Commit  = "unknown"
)

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "onair",
		Short:         "Headless live-audio broadcaster: microphone → Opus → WebRTC channel",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version + " (commit " + Commit + ")",
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &cli.UsageError{Err: err} })
	root.AddCommand(
		newPublishCommand(stderr),
		newListenCommand(stderr),
		newRunCommand(stderr),
		newCtlCommand(stdout),
		newInstallCommand(stdout),
		newDevicesCommand(stdout),
		newRelayCommand(stderr),
		newTokenCommand(stdout),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			Run: func(cmd *cobra.Command, _ []string) {
				fmt.Fprintf(cmd.OutOrStdout(), "onair %s (commit %s)\n", Version, Commit)
			},
		},
	)
	return root
}

// configFlags adds --config to a command and returns a loader that reads
// the configuration with the command's flags on top; flagKeys maps each
// flag that sets a key to that key.
func configFlags(flags *pflag.FlagSet, flagKeys map[string]string) func() (*config.Config, error) {
	file := flags.String("config", "", "configuration file (YAML)")
	return func() (*config.Config, error) {
		return config.Load(config.Sources{
			File:     *file,
			Environ:  os.Environ(),
			Flags:    flags,
			FlagKeys: flagKeys,
		})
	}
}

// newLogger returns the process logger configured by c.
func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(c.Level)))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
