// Package notifytest stands in for systemd's end of the sd_notify(3)
// protocol in tests: a unixgram socket to point NOTIFY_SOCKET at, and the
// messages it receives.
package notifytest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// buffered is how many messages wait for the test before more are dropped.
const buffered = 1024

// ListenNotify opens a unixgram socket for NOTIFY_SOCKET and returns its
// path and the datagrams it receives, one string per message (a message
// may hold several newline-separated assignments, e.g. "READY=1\nSTATUS=…").
// The socket lives in a fresh short directory (a socket path is limited to
// 108 bytes, which t.TempDir can exceed); both are removed at cleanup, and
// the channel is closed then. The caller sets NOTIFY_SOCKET (and
// WATCHDOG_USEC) in the environment of the process under test.
func ListenNotify(t testing.TB) (socketPath string, msgs <-chan string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "notify")
	if err != nil {
		t.Fatal(err)
	}
	socketPath = filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: socketPath, Net: "unixgram"})
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	ch := make(chan string, buffered)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(ch)
		buf := make([]byte, 64<<10)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			select {
			case ch <- string(buf[:n]):
			case <-done:
				return
			default: // the test stopped reading: drop
			}
		}
	}()
	t.Cleanup(func() {
		close(done)
		conn.Close()
		wg.Wait()
		os.RemoveAll(dir)
	})
	return socketPath, ch
}

// ErrTimeout is returned by WaitFor when no message matched in time.
var ErrTimeout = errors.New("notifytest: timeout")

// WaitFor reads msgs until a message has a line that starts with prefix
// ("READY=1", "STATUS=on air", "WATCHDOG=1") and returns that line. It
// fails with ErrTimeout after d, listing what arrived meanwhile.
func WaitFor(msgs <-chan string, prefix string, d time.Duration) (string, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	var seen []string
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return "", fmt.Errorf("notifytest: socket closed waiting for %q (got %q)", prefix, seen)
			}
			for _, line := range strings.Split(m, "\n") {
				if strings.HasPrefix(line, prefix) {
					return line, nil
				}
			}
			seen = append(seen, m)
		case <-timer.C:
			return "", fmt.Errorf("%w: no %q in %s (got %q)", ErrTimeout, prefix, d, seen)
		}
	}
}
