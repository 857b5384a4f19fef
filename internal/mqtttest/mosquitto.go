// Package mqtttest runs a real Mosquitto broker for tests, on a loopback
// port, restartable.
package mqtttest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Mosquitto is a Mosquitto broker run by a test on a loopback port.
type Mosquitto struct {
	t    *testing.T
	dir  string
	conf string
	port int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	stderr *syncBuffer
}

// syncBuffer is a bytes.Buffer that the process's output and the test
// may use at the same time.
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

// NeedMosquitto skips the test where mosquitto is not installed, or fails
// it in CI, which installs it.
func NeedMosquitto(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("mosquitto")
	if err != nil {
		path, err = exec.LookPath("/usr/sbin/mosquitto")
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("mosquitto not installed (apt install mosquitto)")
		}
		t.Skip("mosquitto not installed (apt install mosquitto)")
	}
	return path
}

// TestDir returns a temporary directory Mosquitto can read whichever user
// it runs as (as root it drops to user mosquitto unless told otherwise).
func TestDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// WriteFile writes a file of dir readable by everyone and returns its path.
func WriteFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start starts Mosquitto with one listener on a free loopback port
// configured by listener (lines after "listener PORT 127.0.0.1", with
// paths relative to dir, TestDir's) and stops it at the end of the test.
func Start(t *testing.T, dir, listener string) *Mosquitto {
	t.Helper()
	NeedMosquitto(t)
	m := &Mosquitto{t: t, dir: dir, port: FreePort(t)}
	// set_tcp_nodelay: without it Nagle's algorithm and delayed ACKs add
	// 40 ms to every command and reply on loopback.
	conf := fmt.Sprintf("per_listener_settings true\npersistence false\nset_tcp_nodelay true\n"+
		"log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlistener %d 127.0.0.1\n%s\n",
		m.port, listener)
	m.conf = WriteFile(t, dir, "mosquitto.conf", []byte(conf))
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

// URL returns the broker URL of the listener with scheme.
func (m *Mosquitto) URL(scheme string) string {
	return scheme + "://127.0.0.1:" + strconv.Itoa(m.port)
}

// Addr is the listener's host:port.
func (m *Mosquitto) Addr() string { return "127.0.0.1:" + strconv.Itoa(m.port) }

// Start runs mosquitto and waits until its port accepts connections.
func (m *Mosquitto) Start() {
	m.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stderr = new(syncBuffer)
	m.cmd = exec.Command(NeedMosquitto(m.t), "-c", m.conf)
	m.cmd.Dir = m.dir
	m.cmd.Stderr = m.stderr
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("mosquitto: %v", err)
	}
	m.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(m.cmd, m.exited)
	deadline := time.Now().Add(5 * time.Second)
	for {
		select {
		case <-m.exited:
			m.t.Fatalf("mosquitto exited at start:\n%s", m.stderr)
		default:
		}
		c, err := net.DialTimeout("tcp", m.Addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("mosquitto not listening on %s after 5 s:\n%s", m.Addr(), m.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop ends mosquitto (SIGTERM, then SIGKILL after 5 s); safe to repeat.
func (m *Mosquitto) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(5 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
	m.cmd = nil
	if testing.Verbose() || m.t.Failed() {
		m.t.Logf("mosquitto log:\n%s", m.stderr)
	}
}

// Restart stops mosquitto and starts it again on the same port, with
// nothing kept: no sessions, no retained messages.
func (m *Mosquitto) Restart() {
	m.t.Helper()
	m.Stop()
	m.Start()
}

// Reload sends mosquitto SIGHUP, which makes it reread its configuration,
// its ACL file and, for new connections, its certificates and CRL. The
// reload is asynchronous (and logged at a level the test's config does
// not show): wait for its effect.
func (m *Mosquitto) Reload() {
	m.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		m.t.Fatalf("mosquitto: reload: %v", err)
	}
}
