// Package interop runs the onair binary, as a user runs it, against the
// third-party channel servers a user would choose: MediaMTX, go2rtc and
// livekit-server, built once by scripts/servers.sh into a cache outside the
// repository. A server that is not built is a skip, or a failure when the
// environment variable CI is set.
package interop

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// onairBin is the binary under test, built once by TestMain.
var onairBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "onair-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	onairBin = filepath.Join(dir, "onair")
	build := exec.Command("go", "build", "-tags", "nolibopusfile", "-o", onairBin, "../cmd/onair")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build onair:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
