package fleet

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/mqtttest"
)

// fleetProcess is onair-fleet serve run as a real process.
type fleetProcess struct {
	cmd    *exec.Cmd
	exited chan struct{}
	stderr *bytes.Buffer
}

// buildFleet builds cmd/onair-fleet into a temporary directory.
func buildFleet(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "onair-fleet")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/onair-dev/onair/cmd/onair-fleet").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startServe starts bin serve with args and waits until it answers GET
// /ca.crt over HTTPS trusted by roots.
func startServe(t *testing.T, bin, url string, roots *x509.CertPool, args ...string) *fleetProcess {
	t.Helper()
	p := &fleetProcess{cmd: exec.Command(bin, append([]string{"serve"}, args...)...), exited: make(chan struct{}), stderr: new(bytes.Buffer)}
	p.cmd.Stderr = p.stderr // read only after exited
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.exited })
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-p.exited:
			t.Fatalf("onair-fleet serve exited: %v\n%s", p.cmd.ProcessState, p.stderr)
		default:
		}
		resp, err := c.Get(url + "/ca.crt")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("onair-fleet serve not answering after 15 s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// onair-fleet serve killed with SIGKILL while many enrollments are in
// flight leaves a consistent registry: every device has its certificate,
// the claim's uses left are its uses minus the devices, every enrollment
// answered 201 is there; restarted, it enrolls the next board.
func TestKill9DuringEnrollments(t *testing.T) {
	if testing.Short() {
		t.Skip("builds onair-fleet")
	}
	bin := buildFleet(t)
	state := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", mqtttest.FreePort(t))
	url := "https://" + addr
	args := []string{"--state-dir", state, "--listen", addr, "--host", "127.0.0.1"}
	const uses = 300
	out, err := exec.Command(bin, append([]string{"claim", "--uses", fmt.Sprint(uses), "--ttl", "1h"}, args...)...).Output()
	if err != nil {
		t.Fatalf("onair-fleet claim: %v", err)
	}
	tok := strings.TrimSpace(string(out))
	roots := x509.NewCertPool()
	caPEM, err := os.ReadFile(filepath.Join(state, CACertFile))
	if err != nil || !roots.AppendCertsFromPEM(caPEM) {
		t.Fatalf("ca.crt: %v", err)
	}
	p := startServe(t, bin, url, roots, args...)

	// Boards enroll four at a time until the server dies; it dies once
	// 40 have their certificate.
	reqs := make([][]byte, uses-10)
	for i := range reqs {
		b := newBoard(t, fmt.Sprintf("b-%03d", i))
		reqs[i] = mustJSON(t, EnrollRequest{Device: b.id, CSR: b.csr(t, b.id)})
	}
	var (
		mu      sync.Mutex
		issued  = map[string]string{} // device -> certificate answered
		next    atomic.Int64
		enough  = make(chan struct{})
		closeIt sync.Once
		wg      sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
			defer c.CloseIdleConnections()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(reqs) {
					return
				}
				a, err := tryPost(c, url+"/enroll", tok, reqs[i])
				if err != nil {
					return // the server is gone
				}
				if a.status != http.StatusCreated {
					t.Errorf("enroll %d: %d %+v", i, a.status, a.err)
					return
				}
				mu.Lock()
				issued[fmt.Sprintf("b-%03d", i)] = a.issued.Certificate
				if len(issued) >= 40 {
					closeIt.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		})
	}
	<-enough
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	wg.Wait()
	if int(next.Load()) >= len(reqs) {
		t.Fatal("every enrollment finished before the kill")
	}

	p = startServe(t, bin, url, roots, args...)
	reg, err := OpenRegistry(context.Background(), filepath.Join(state, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	checkConsistent(t, reg, uses, issued)
	b := newBoard(t, "after-restart")
	a := post(t, (*board)(nil).clientWith(roots), url+"/enroll", tok, mustJSON(t, EnrollRequest{Device: b.id, CSR: b.csr(t, b.id)}))
	if a.status != http.StatusCreated {
		t.Fatalf("enroll after restart: %d %+v", a.status, a.err)
	}
	devices := checkConsistent(t, reg, uses, nil)
	t.Logf("%d answered before the kill, %d devices in the registry after it and one more", len(issued), devices-1)

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	if !p.cmd.ProcessState.Success() {
		t.Errorf("serve after SIGTERM: %v\n%s", p.cmd.ProcessState, p.stderr)
	}
}

// checkConsistent checks the registry after a crash and returns the
// number of devices.
func checkConsistent(t *testing.T, reg *Registry, uses int, issued map[string]string) int {
	t.Helper()
	ctx := context.Background()
	devices, err := reg.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Device{}
	for _, d := range devices {
		byID[d.ID] = d
		var owner string
		if err := reg.db.QueryRowContext(ctx, `SELECT device FROM certs WHERE serial = ?`, d.Serial).Scan(&owner); err != nil || owner != d.ID {
			t.Errorf("device %s: certificate %s not recorded: %v", d.ID, d.Serial, err)
		}
		if d.CertPEM == "" {
			t.Errorf("device %s has no certificate", d.ID)
		}
	}
	for id, cert := range issued {
		if byID[id].CertPEM != cert {
			t.Errorf("device %s was answered 201 but its certificate is not in the registry", id)
		}
	}
	var left, certs int
	if err := reg.db.QueryRowContext(ctx, `SELECT uses_left FROM claims`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if err := reg.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM certs`).Scan(&certs); err != nil {
		t.Fatal(err)
	}
	if left != uses-len(devices) || certs != len(devices) {
		t.Errorf("uses left %d, certificates %d, devices %d: want uses left %d and one certificate a device", left, certs, len(devices), uses-len(devices))
	}
	return len(devices)
}
