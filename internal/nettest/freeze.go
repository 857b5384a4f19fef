package nettest

import (
	"net"
	"sync/atomic"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// FreezeNet is the operating system's network for pion whose UDP sockets
// silently drop everything, both ways, while frozen is set: a network
// outage that leaves HTTP alone.
type FreezeNet struct {
	*stdnet.Net
	frozen *atomic.Bool
}

// NewFreezeNet returns a FreezeNet that is frozen while frozen is set.
func NewFreezeNet(frozen *atomic.Bool) (*FreezeNet, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	return &FreezeNet{Net: n, frozen: frozen}, nil
}

// ListenUDP wraps the socket so that it can be frozen.
func (n *FreezeNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return &freezeConn{UDPConn: c, frozen: n.frozen}, nil
}

// freezeConn drops reads and writes while frozen.
type freezeConn struct {
	transport.UDPConn
	frozen *atomic.Bool
}

func (c *freezeConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(p)
		if err != nil || !c.frozen.Load() {
			return n, addr, err
		}
	}
}

func (c *freezeConn) ReadFromUDP(p []byte) (int, *net.UDPAddr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFromUDP(p)
		if err != nil || !c.frozen.Load() {
			return n, addr, err
		}
	}
}

func (c *freezeConn) Read(p []byte) (int, error) {
	for {
		n, err := c.UDPConn.Read(p)
		if err != nil || !c.frozen.Load() {
			return n, err
		}
	}
}

func (c *freezeConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if c.frozen.Load() {
		return len(p), nil
	}
	return c.UDPConn.WriteTo(p, addr)
}

func (c *freezeConn) WriteToUDP(p []byte, addr *net.UDPAddr) (int, error) {
	if c.frozen.Load() {
		return len(p), nil
	}
	return c.UDPConn.WriteToUDP(p, addr)
}

func (c *freezeConn) Write(p []byte) (int, error) {
	if c.frozen.Load() {
		return len(p), nil
	}
	return c.UDPConn.Write(p)
}
