package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/onair-dev/onair"
	"github.com/onair-dev/onair/systemd"
)

func newInstallCommand(stdout io.Writer) *cobra.Command {
	opts := systemd.InstallOptions{Config: onair.DefaultConfig, Out: stdout}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install this binary as the systemd service onair (user, unit, config; enabled, not started)",
		Long: `Install sets this binary up as a service, as the .deb does: it creates the
system user onair (in group audio), copies the binary to /usr/bin/onair,
writes /etc/systemd/system/onair.service and, if absent, /etc/onair/config.yaml
(0640 root:onair), then runs systemctl daemon-reload and systemctl enable onair.
Start it with systemctl start onair. Needs root.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return systemd.Install(opts) },
	}
	cmd.Flags().StringVar(&opts.Bin, "bin", systemd.DefaultBin, "where to install the binary")
	cmd.Flags().StringVar(&opts.Root, "root", "", "only write the files into this directory tree (no user, no systemctl; for images)")
	return cmd
}
