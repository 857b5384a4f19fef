// Package cli holds what onair's commands (onair, onair-fleet) share: the
// process entry that cancels on SIGINT/SIGTERM and the usage error that
// maps to exit status 64.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// ExitUsage is the exit status of a bad command line (EX_USAGE of
// sysexits.h).
const ExitUsage = 64

// UsageError is a bad command line: an unknown flag or a wrong argument.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Main runs run with the process's arguments and standard streams, in a
// context that SIGINT and SIGTERM cancel, and exits with exitCode(err).
func Main(run func(ctx context.Context, args []string, stdout, stderr io.Writer) error, exitCode func(error, io.Writer) int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// Failed reports whether err is a failure — not nil, not a clean
// cancellation — and if so writes it to stderr after the command's name.
func Failed(name string, err error, stderr io.Writer) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	fmt.Fprintln(stderr, name+":", err)
	return true
}
