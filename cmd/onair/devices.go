package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/onair-dev/onair/audio"
)

func newDevicesCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "devices",
		Short: "List audio inputs and outputs with channels and default rates",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			devices, err := audio.ListDevices()
			if err != nil {
				return err
			}
			if len(devices) == 0 {
				fmt.Fprintln(stdout, "no audio devices (inputs tone:<Hz> and file:<path.wav> still work)")
				return nil
			}
			fmt.Fprintln(stdout, "index  device")
			for _, d := range devices {
				fmt.Fprintln(stdout, d.String())
			}
			return nil
		},
	}
}
