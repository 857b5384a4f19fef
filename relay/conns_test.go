package relay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onair-dev/onair/token"
)

// countingListener counts the connections the server accepted and has
// not closed, and the most there were at once.
type countingListener struct {
	net.Listener
	open, peak atomic.Int64
}

// Accept implements net.Listener.
func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	n := l.open.Add(1)
	for p := l.peak.Load(); n > p && !l.peak.CompareAndSwap(p, n); p = l.peak.Load() {
	}
	return &countedConn{Conn: c, l: l}, nil
}

type countedConn struct {
	net.Conn
	l    *countingListener
	once sync.Once
}

// Close implements net.Conn.
func (c *countedConn) Close() error {
	c.once.Do(func() { c.l.open.Add(-1) })
	return c.Conn.Close()
}

// serveRelay runs a relay with cfg by Serve on a counting loopback
// listener until the end of the test.
func serveRelay(t *testing.T, cfg Config) (*Relay, *countingListener) {
	t.Helper()
	cfg.TokenSecret = testSecret
	cfg.Network = loopback
	r, err := New(cfg, testLog())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Serve(ctx, cl); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return r, cl
}

// guard bounds how long a client of these tests waits for the relay
// before the test fails; the relay's own bounds are far shorter.
const guard = 20 * time.Second

// waitClosed reads c until the relay closes it, and reports whether it
// did before the guard.
func waitClosed(c net.Conn, br *bufio.Reader) bool {
	_ = c.SetReadDeadline(time.Now().Add(guard))
	_, err := io.Copy(io.Discard, br)
	var ne net.Error
	return !errors.As(err, &ne) || !ne.Timeout()
}

// dialSend connects to addr and sends s; nil (the test failed) if it
// cannot.
func dialSend(t *testing.T, addr, s string) net.Conn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return nil
	}
	if _, err := io.WriteString(c, s); err != nil {
		t.Error(err)
		c.Close()
		return nil
	}
	return c
}

// TestIdleConnsCapped: keep-alive connections that go idle are bounded by
// MaxConns (the rest wait to be accepted) and closed after IdleTimeout,
// so that every client is served in turn.
func TestIdleConnsCapped(t *testing.T) {
	checkGoroutines(t)
	const conns, maxConns = 200, 100
	_, cl := serveRelay(t, Config{MaxConns: maxConns, IdleTimeout: 200 * time.Millisecond})
	addr := cl.Addr().String()
	var wg sync.WaitGroup
	var served, closed atomic.Int64
	for range conns {
		wg.Go(func() {
			c := dialSend(t, addr, "GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n")
			if c == nil {
				return
			}
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(guard))
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Errorf("read response: %v", err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				served.Add(1)
			}
			if waitClosed(c, br) {
				closed.Add(1)
			}
		})
	}
	wg.Wait()
	if s, c := served.Load(), closed.Load(); s != conns || c != conns {
		t.Errorf("%d of %d clients served, %d idle connections closed by the relay", s, conns, c)
	}
	if p := cl.peak.Load(); p > maxConns {
		t.Errorf("the relay held %d connections at once, MaxConns %d", p, maxConns)
	}
	waitFor(t, guard, "connections closed", func() bool { return cl.open.Load() == 0 })
}

// TestDripBodiesCut: a request body dripped byte by byte is cut: at once
// when the request is refused before its body is read (no token), after
// ReadTimeout when it is read. No session is made.
func TestDripBodiesCut(t *testing.T) {
	checkGoroutines(t)
	const perKind = 20
	r, cl := serveRelay(t, Config{ReadTimeout: 500 * time.Millisecond})
	addr := cl.Addr().String()
	tok := mint(t, "lobby", "a", token.RoleAudience)
	var wg sync.WaitGroup
	var cut atomic.Int64
	for i := range 2 * perKind {
		auth := ""
		if i%2 == 1 {
			auth = "Authorization: Bearer " + tok + "\r\n"
		}
		wg.Go(func() {
			c := dialSend(t, addr, fmt.Sprintf("POST /whep/lobby HTTP/1.1\r\nHost: relay\r\nContent-Type: application/sdp\r\n%sContent-Length: 60000\r\n\r\nv=0\r\n", auth))
			if c == nil {
				return
			}
			defer c.Close()
			stop := make(chan struct{})
			defer close(stop)
			go func() { // drip, until the relay cuts the connection or the test ends
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if _, err := io.WriteString(c, "a"); err != nil {
							return
						}
					}
				}
			}()
			if waitClosed(c, bufio.NewReader(c)) {
				cut.Add(1)
			}
		})
	}
	wg.Wait()
	if n := cut.Load(); n != 2*perKind {
		t.Errorf("%d of %d dripping connections cut by the relay", n, 2*perKind)
	}
	if n := r.Sessions(); n != 0 {
		t.Errorf("%d sessions", n)
	}
	waitFor(t, guard, "connections closed", func() bool { return cl.open.Load() == 0 })
}
