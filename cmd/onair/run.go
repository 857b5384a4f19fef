package main

import (
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/daemon"
	"github.com/onair-dev/onair/systemd"
)

func newRunCommand(stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the device agent: obey the fleet over MQTT, stay in the channel",
		Long: `Run is the daemon a board runs. It starts the embedded MQTT broker when
mqtt.broker is "embedded" and the embedded relay when relay.enabled, then the
device agent, which obeys the MQTT commands of the fleet (join, leave,
set_role, mute, unmute, set_gain, renew_token, status), reports its state,
telemetry and events, and rejoins its channel after a power cut. SIGTERM
leaves the channel cleanly; SIGHUP reloads the configuration.`,
		Args: cobra.NoArgs,
	}
	load := configFlags(cmd.Flags(), nil)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := load()
		if err != nil {
			return err
		}
		notify, err := systemd.NewNotifier(newLogger(cfg.Log, stderr))
		if err != nil {
			return err
		}
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		return daemon.Run(cmd.Context(), cfg, daemon.Options{
			Load:    load,
			Reloads: hup,
			Notify:  notify,
			Logger:  func(c config.Log) *slog.Logger { return newLogger(c, stderr) },
			Version: Version,
		})
	}
	return cmd
}
