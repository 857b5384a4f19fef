// Command onair-fleet is the operator's fleet server: the enrollment and
// renewal endpoints with their CA, the device registry, claims,
// revocation, and the broker's ACL and CRL. It is a binary of its own so
// that the boards' onair links neither SQLite nor the operator's side.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/onair-dev/onair/fleet"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

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
	if err == nil || errors.Is(err, context.Canceled) {
		return 0
	}
	fmt.Fprintln(stderr, "onair-fleet:", err)
	var ce *fleet.ConfigError
	var ue *usageError
	switch {
	case errors.As(err, &ce):
		return fleet.ExitConfig
	case errors.As(err, &ue):
		return 64
	}
	return 1
}
