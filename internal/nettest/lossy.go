// Package nettest provides network stacks for pion that misbehave on
// purpose, to test what crosses a bad network.
package nettest

import (
	"math/rand/v2"
	"net"
	"sync"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// LossyNet is the operating system's network for pion, except that its UDP
// sockets drop a fraction of the SRTP media packets they send (RTP, not
// RTCP, not ICE or DTLS), at random: packet loss on the path.
type LossyNet struct {
	*stdnet.Net
	rate float64

	mu      sync.Mutex
	rnd     *rand.Rand
	dropped int
	sent    int
}

// NewLossyNet returns a LossyNet dropping rate (0 … 1) of the media
// packets, with a fixed seed so runs are comparable.
func NewLossyNet(rate float64, seed uint64) (*LossyNet, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	return &LossyNet{Net: n, rate: rate, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}, nil
}

// Counts returns how many media packets were dropped and sent.
func (n *LossyNet) Counts() (dropped, sent int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dropped, n.sent
}

// ListenUDP wraps the socket so that it loses media packets.
func (n *LossyNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return &lossyConn{UDPConn: c, n: n}, nil
}

// drop decides the fate of one outgoing datagram.
func (n *LossyNet) drop(p []byte) bool {
	// RFC 7983: RTP and RTCP start with 128–191; RTCP packet types are
	// 192–223 in the second byte (RFC 5761 §4).
	if len(p) < 2 || p[0] < 128 || p[0] > 191 || (p[1] >= 192 && p[1] <= 223) {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.rnd.Float64() < n.rate {
		n.dropped++
		return true
	}
	n.sent++
	return false
}

type lossyConn struct {
	transport.UDPConn
	n *LossyNet
}

func (c *lossyConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if c.n.drop(p) {
		return len(p), nil
	}
	return c.UDPConn.WriteTo(p, addr)
}

func (c *lossyConn) WriteToUDP(p []byte, addr *net.UDPAddr) (int, error) {
	if c.n.drop(p) {
		return len(p), nil
	}
	return c.UDPConn.WriteToUDP(p, addr)
}

func (c *lossyConn) Write(p []byte) (int, error) {
	if c.n.drop(p) {
		return len(p), nil
	}
	return c.UDPConn.Write(p)
}
