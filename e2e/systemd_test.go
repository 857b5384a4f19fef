package e2e

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/alsatest"
	"github.com/onair-dev/onair/internal/notifytest"
)

// TestRunNotifiesSystemd: `onair run` under a test NOTIFY_SOCKET sends
// READY=1, a STATUS= with its state and WATCHDOG=1 pings; when its capture
// stalls (ALSA's file device reading from a pipe nobody writes to any
// more) the pings stop, so systemd would restart it.
func TestRunNotifiesSystemd(t *testing.T) {
	t.Parallel()
	alsa := alsatest.Setup(t, "", alsatest.Options{Signal: alsatest.Signal{Hz: 440, Seconds: 1}})
	// The capture file becomes a pipe that carries 3 s of audio, then
	// nothing: the device blocks, as a hung USB microphone does.
	if err := os.Remove(alsa.InPath); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(alsa.InPath, 0o600); err != nil {
		t.Fatal(err)
	}
	fifo, err := os.OpenFile(alsa.InPath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fifo.Close()
	go func() {
		pcm := make([]byte, 2*48000*3)
		for i := 0; i < len(pcm)/2; i++ {
			v := int16(16000 * math.Sin(2*math.Pi*440*float64(i)/48000))
			binary.LittleEndian.PutUint16(pcm[2*i:], uint16(v))
		}
		_, _ = fifo.Write(pcm) // blocks until the capture has read most of it
	}()

	tr := loopbackRelay(t, nil)
	dir := t.TempDir()
	conf := fmt.Sprintf(`device: {id: wd, state_dir: %q, autojoin: true}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
relay: {enabled: false}
audio: {input: default, fallback_input: ""}
uplink: {channel: wd, whip_url: "%s/whip/{channel}?uid={uid}", whep_url: "%s/whep/{channel}?uid={uid}"}
webrtc: {interfaces: [lo], loopback: true}
`, filepath.Join(dir, "state"), tr.URL, tr.URL)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	sock, msgs := notifytest.ListenNotify(t)
	cmd, out, done := startOnair(t, []string{"ALSA_CONFIG_PATH=" + alsa.ConfigPath, "NOTIFY_SOCKET=" + sock, "WATCHDOG_USEC=2000000"},
		"run", "--config", path)
	start := time.Now()
	if _, err := notifytest.WaitFor(msgs, "READY=1", 10*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	status, err := notifytest.WaitFor(msgs, "STATUS=on air: wd as host", 10*time.Second)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("status: %s", status)
	if _, err := notifytest.WaitFor(msgs, "WATCHDOG=1", 5*time.Second); err != nil {
		t.Fatalf("no watchdog ping while capturing: %v\n%s", err, out.String())
	}
	// The audio ends, the grace passes, and the pings stop: wait for a
	// gap longer than the watchdog timeout (systemd would restart onair
	// now), then no ping may follow.
	gap := time.NewTimer(2500 * time.Millisecond)
	defer gap.Stop()
	hung := time.After(60 * time.Second)
	for stalled := false; !stalled; {
		select {
		case m := <-msgs:
			if strings.HasPrefix(m, "WATCHDOG=1") {
				gap.Reset(2500 * time.Millisecond)
			}
		case <-gap.C:
			stalled = true
		case <-hung:
			t.Fatalf("watchdog still pinging 60 s after the capture's audio ended\n%s", out.String())
		}
	}
	deadline := time.After(4 * time.Second)
	for quiet := true; quiet; {
		select {
		case m := <-msgs:
			if strings.HasPrefix(m, "WATCHDOG=1") {
				t.Errorf("watchdog ping %s after the capture stalled", time.Since(start).Round(time.Millisecond))
				quiet = false
			}
		case <-deadline:
			quiet = false
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		// the stalled capture may hold the audio loop; systemd would kill it
		_ = cmd.Process.Kill()
		<-done
	}
}
