package interop

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onair-dev/onair/audio"
	"github.com/onair-dev/onair/internal/alsatest"
	"github.com/onair-dev/onair/internal/dsp"
)

// serverBin returns the path scripts/servers.sh builds the server's binary
// at; a missing one skips the test, or fails it when CI is set.
func serverBin(t *testing.T, name, version, binary string) string {
	t.Helper()
	cache := os.Getenv("ONAIR_SERVERS_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(home, ".cache", "onair-servers")
	}
	bin := filepath.Join(cache, name+"-"+version, binary)
	if _, err := os.Stat(bin); err != nil {
		msg := fmt.Sprintf("%s %s is not built (%v): run scripts/servers.sh", name, version, err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// freePort returns a port on 127.0.0.1 that was free a moment ago for
// network ("tcp" or "udp").
func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects a child's output safely while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a child process of the test.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

// start runs bin with args in dir; the test's cleanup ends it (SIGTERM,
// then SIGKILL) if it still runs, and logs its output if the test failed.
func start(t *testing.T, name, dir string, env []string, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	p := &proc{name: name, cmd: cmd, out: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out.String())
		}
	})
	return p
}

// stop sends SIGTERM and waits for the process to exit; it fails the test
// on a non-zero exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t, 15*time.Second); err != nil {
		t.Errorf("%s exited with %v after SIGTERM", p.name, err)
	}
}

// wait waits for the process to exit and returns how it exited.
func (p *proc) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err // a later wait or the cleanup sees it too
		return err
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %s", p.name, timeout)
		return nil
	}
}

// loopbackEnv points onair's ICE at loopback only, as the servers are.
var loopbackEnv = []string{"ONAIR_WEBRTC_INTERFACES=lo", "ONAIR_WEBRTC_LOOPBACK=true",
	"ONAIR_UPLINK_RETRY_MIN=200ms", "ONAIR_UPLINK_RETRY_MAX=1s"}

// onair runs the onair binary with args, ALSA configured by alsa.
func onair(t *testing.T, name string, alsa alsatest.Env, args ...string) *proc {
	t.Helper()
	env := append([]string{"ALSA_CONFIG_PATH=" + alsa.ConfigPath}, loopbackEnv...)
	return start(t, name, t.TempDir(), env, onairBin, args...)
}

// waitFor polls cond every 100 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitHTTP waits until url answers at all (any status).
func waitHTTP(t *testing.T, p *proc, url string) {
	t.Helper()
	waitFor(t, 30*time.Second, p.name+" serving "+url, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
}

// getJSON GETs url (with basic auth user:pass when user is not empty) and
// decodes the JSON answer into v.
func getJSON(url, user, pass string, v any) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// sound returns what the ALSA file output received from the first sound on.
func sound(t *testing.T, path string) []float32 {
	t.Helper()
	pcm, err := alsatest.ReadS16LE(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for i, v := range pcm {
		if math.Abs(float64(v)) > 0.01 {
			return pcm[i:]
		}
	}
	return nil
}

// waitSound waits until the ALSA file output holds secs seconds of sound
// after the first second, and returns those.
func waitSound(t *testing.T, path string, secs float64) []float32 {
	t.Helper()
	n := int(secs * 48000)
	waitFor(t, 60*time.Second, fmt.Sprintf("%.0f s of sound in the output", secs+1), func() bool {
		return len(sound(t, path)) >= 48000+n
	})
	return sound(t, path)[48000 : 48000+n]
}

// checkTone asserts that pcm's dominant frequency is hz ± 2 and logs its
// level against that of onair's tone input.
func checkTone(t *testing.T, pcm []float32, hz float64) {
	t.Helper()
	got := dsp.DominantFrequency(pcm, 48000)
	rms, want := dsp.RMS(pcm), audio.ToneAmplitude/math.Sqrt2
	t.Logf("output: dominant frequency %.2f Hz, RMS %.3f (the tone's %.3f, ×%.1f)", got, rms, want, rms/want)
	if math.Abs(got-hz) > 2 {
		t.Errorf("dominant frequency of the output %.2f Hz, want %.0f ± 2", got, hz)
	}
}

// countLines returns how many lines of s contain sub.
func countLines(s, sub string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}
