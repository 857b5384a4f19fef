// Package e2e tests the onair binary as a user runs it.
package e2e

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
	dir, err := os.MkdirTemp("", "onair-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	onairBin = filepath.Join(dir, "onair")
	build := exec.Command("go", "build", "-o", onairBin, "../cmd/onair")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build onair:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
