package bench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/whiptest"
)

// onairBin is the binary the RSS benchmark runs, built by TestMain.
var onairBin string

func buildOnair(dir string) error {
	onairBin = filepath.Join(dir, "onair")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", onairBin, "../cmd/onair")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build onair: %w", err)
	}
	return nil
}

// rssDuration is how long `onair publish` runs before its peak RSS is read.
const rssDuration = 30 * time.Second

// BenchmarkPublishRSS runs `onair publish --input tone:440` into a real
// WHIP peer for 30 s and reports the process's peak resident set size
// (VmHWM).
func BenchmarkPublishRSS(b *testing.B) {
	srv, err := whiptest.New(whiptest.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	cmd := exec.Command(onairBin, "publish", "--input", "tone:440", "--url", srv.Endpoint())
	cmd.Env = append(os.Environ(), "ONAIR_WEBRTC_INTERFACES=lo", "ONAIR_WEBRTC_LOOPBACK=true", "ONAIR_LOG_LEVEL=warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	if err := srv.WaitPackets(50, 20*time.Second); err != nil {
		b.Fatal(err)
	}
	time.Sleep(rssDuration)
	hwm, rss, err := memoryOf(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	packets := len(srv.Packets())
	fmt.Printf("\nonair publish --input tone:440, %s on air (%d packets received):\n", rssDuration, packets)
	fmt.Printf("  peak RSS (VmHWM)      %8.1f MB (goal ≤ 20 MB)\n", float64(hwm)/1024)
	fmt.Printf("  current RSS (VmRSS)   %8.1f MB\n\n", float64(rss)/1024)
	b.ReportMetric(float64(hwm)/1024, "peak-RSS-MB")
}

// memoryOf returns VmHWM and VmRSS of a process, in kB.
func memoryOf(pid int) (hwm, rss int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(value)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch name {
		case "VmHWM":
			hwm = n
		case "VmRSS":
			rss = n
		}
	}
	if hwm == 0 {
		return 0, 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
	}
	return hwm, rss, sc.Err()
}
