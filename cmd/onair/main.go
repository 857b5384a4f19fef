// Command onair is the headless live-audio broadcaster: it captures a
// microphone, encodes Opus and publishes it into a channel over WebRTC.
package main

import (
	"context"
	"errors"
	"io"

	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/internal/cli"
	"github.com/onair-dev/onair/systemd"
)

func main() { cli.Main(run, exitCode) }

// run executes the command line args; it returns when the command is done
// or ctx is cancelled.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// exitCode reports err on stderr and maps it to the process exit status:
// 0 for success or a clean cancellation, 78 (EX_CONFIG) for a configuration
// error, 64 (EX_USAGE) for a bad command line, 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	if !cli.Failed("onair", err, stderr) {
		return 0
	}
	var ce *config.Error
	var ue *cli.UsageError
	var ctl *ctlError
	switch {
	case errors.Is(err, systemd.ErrNotRoot):
		return 77 // EX_NOPERM
	case errors.As(err, &ctl):
		return ctl.code
	case errors.As(err, &ce):
		return config.ExitCode
	case errors.As(err, &ue):
		return cli.ExitUsage
	}
	return 1
}
