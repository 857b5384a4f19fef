package broker

import (
	"bufio"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// rawClient is an MQTT 3.1.1 client written byte by byte, to send what a
// library would not.
type rawClient struct {
	c net.Conn
	r *bufio.Reader
}

// remaining encodes an MQTT remaining length (§2.2.3).
func remaining(n int) []byte {
	var b []byte
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}

// dialRaw connects and sends CONNECT with client id id (clean session or
// not); it returns the client and the CONNACK return code, or -1 when the
// broker closed the connection without a CONNACK.
func dialRaw(t *testing.T, addr, id string, clean bool) (*rawClient, int) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	flags := byte(0)
	if clean {
		flags = 0x02
	}
	body := append([]byte{0, 4, 'M', 'Q', 'T', 'T', 4, flags, 0, 60, 0, byte(len(id))}, id...)
	if _, err := c.Write(append(append([]byte{0x10}, remaining(len(body))...), body...)); err != nil {
		t.Fatal(err)
	}
	rc := &rawClient{c: c, r: bufio.NewReader(c)}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	ack := make([]byte, 4)
	if _, err := io.ReadFull(rc.r, ack); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "reset") {
			return rc, -1
		}
		t.Fatalf("connack: %v", err)
	}
	_ = c.SetReadDeadline(time.Time{})
	return rc, int(ack[3])
}

// closed reports whether the broker closed the connection (within 5 s).
func (rc *rawClient) closed() bool {
	_ = rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, rc.r)
	return err == nil || strings.Contains(err.Error(), "reset")
}

// TestOversizePacket: a PUBLISH announcing 100 MB closes the connection
// after its fixed header, without the broker allocating the 100 MB; one
// just under MaxPacketSize goes through.
func TestOversizePacket(t *testing.T) {
	checkGoroutines(t)
	b := startBroker(t, Config{Listen: "127.0.0.1:0"})
	obs := subscribe(t, "tcp://"+b.Addr(), "big/#")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rc, code := dialRaw(t, b.Addr(), "big", true)
	if code != 0 {
		t.Fatalf("connack %d", code)
	}
	topic := []byte{0, 5, 'b', 'i', 'g', '/', 'x'}
	if _, err := rc.c.Write(append(append([]byte{0x30}, remaining(100<<20)...), topic...)); err != nil {
		t.Fatal(err)
	}
	_, _ = rc.c.Write(make([]byte, 1<<20)) // may fail: the broker has hung up
	if !rc.closed() {
		t.Fatal("the connection stayed open after a 100 MB PUBLISH header")
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 50<<20 {
		t.Errorf("the broker allocated %d MB for a refused packet", grew>>20)
	}

	rc, _ = dialRaw(t, b.Addr(), "big2", true)
	payload := strings.Repeat("p", MaxPacketSize-1-4-len(topic))
	pk := append(append([]byte{0x30}, remaining(len(topic)+len(payload))...), topic...)
	if _, err := rc.c.Write(append(pk, payload...)); err != nil {
		t.Fatal(err)
	}
	obs.want(t, "big/x "+payload)
}

// TestMaxClients: past MaxClients connections one more is closed at once,
// and frees no slot of the others; once one ends, a new one gets in.
// Persistent sessions that went away count until they expire: a new
// client id is refused while a returning one is admitted.
func TestMaxClients(t *testing.T) {
	checkGoroutines(t)
	const max = 3
	b := startBroker(t, Config{Listen: "127.0.0.1:0", MaxClients: max})
	var conns []*rawClient
	for i := range max {
		rc, code := dialRaw(t, b.Addr(), "c"+itoa(i), true)
		if code != 0 {
			t.Fatalf("client %d: connack %d", i, code)
		}
		conns = append(conns, rc)
	}
	if _, code := dialRaw(t, b.Addr(), "over", true); code != -1 {
		t.Fatalf("connection %d: connack %d, want the connection closed", max+1, code)
	}
	_ = conns[0].c.Close()
	admitted := false
	for deadline := time.Now().Add(5 * time.Second); !admitted && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		rc, code := dialRaw(t, b.Addr(), "again", true)
		admitted = code == 0
		_ = rc.c.Close()
	}
	if !admitted {
		t.Fatal("no connection admitted after one ended")
	}
	for _, rc := range conns[1:] {
		_ = rc.c.Close()
	}

	// Persistent sessions, away: they keep their room.
	waitClients(t, b, 0)
	for i := range max {
		rc, code := dialRaw(t, b.Addr(), "p"+itoa(i), false)
		if code != 0 {
			t.Fatalf("persistent %d: connack %d", i, code)
		}
		_ = rc.c.Close()
	}
	waitClients(t, b, max)
	if _, code := dialRaw(t, b.Addr(), "new", true); code <= 0 {
		t.Errorf("a new session past %d: connack %d, want a refusal", max, code)
	}
	if _, code := dialRaw(t, b.Addr(), "p1", false); code != 0 {
		t.Errorf("a returning persistent client: connack %d", code)
	}
}

// waitClients waits until the broker holds n sessions, all of them
// without a connection when n > 0 (the persistent ones, away).
func waitClients(t *testing.T, b *Broker, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		away := 0
		for _, cl := range b.srv.Clients.GetAll() {
			if cl.Closed() {
				away++
			}
		}
		if b.srv.Clients.Len() == n && away == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions (%d away), want %d away", b.srv.Clients.Len(), away, n)
		}
	}
}

// TestMaxRetained: past MaxRetained topics a retained message on a new
// topic is delivered but not retained; one on a topic that holds one still
// replaces it.
func TestMaxRetained(t *testing.T) {
	checkGoroutines(t)
	b := startBroker(t, Config{Listen: "127.0.0.1:0", MaxRetained: 2})
	url := "tcp://" + b.Addr()
	pub := subscribe(t, url, "r/#")
	pub.publish(t, "r/a", true, "1")
	pub.publish(t, "r/b", true, "1")
	pub.publish(t, "r/c", true, "1")
	pub.want(t, "r/c 1")
	pub.publish(t, "r/a", true, "2")
	pub.want(t, "r/a 2")
	if n := retainedCount(b.srv); n != 2 {
		t.Errorf("%d retained topics, want 2", n)
	}
	s := subscribe(t, url, "r/#")
	s.want(t, "r/a 2 (retained)")
	if _, ok := b.srv.Topics.Retained.Get("r/c"); ok {
		t.Error("r/c retained past the bound")
	}
}

func itoa(i int) string { return string(rune('0' + i)) }
