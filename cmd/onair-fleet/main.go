// Command onair-fleet is the operator's fleet server: the enrollment and
// renewal endpoints with their CA, the device registry, claims,
// revocation, and the broker's ACL and CRL. It is a binary of its own so
// that the boards' onair links neither SQLite nor the operator's side.
package main

import (
	"context"
	"errors"
	"io"

	"github.com/onair-dev/onair/fleet"
	"github.com/onair-dev/onair/internal/cli"
)

func main() { cli.Main(run, exitCode) }

// run executes the command line args; it returns when the command is done
// or ctx is cancelled.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// exitCode reports err on stderr and maps it to the exit status: 0 for
// success or a clean cancellation, 78 (EX_CONFIG) for a configuration
// error, 64 (EX_USAGE) for a bad command line, 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	if !cli.Failed("onair-fleet", err, stderr) {
		return 0
	}
	var ce *fleet.ConfigError
	var ue *cli.UsageError
	switch {
	case errors.As(err, &ce):
		return fleet.ExitConfig
	case errors.As(err, &ue):
		return cli.ExitUsage
	}
	return 1
}
