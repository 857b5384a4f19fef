package rtcapi

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/pion/transport/v5/stdnet"
)

// ICETimeouts are the timings of ICE consent freshness (RFC 7675) of
// pion's agent (SettingEngine.SetICETimeouts). A zero ICETimeouts keeps
// pion's defaults (5 s, 25 s, 2 s); set, all three fields are used.
type ICETimeouts struct {
	// Disconnected is how long without any answer from the far end before
	// the connection is disconnected.
	Disconnected time.Duration
	// Failed is how long it then stays disconnected before it failed; a
	// connection still checking fails after Disconnected+Failed.
	Failed time.Duration
	// Keepalive is the interval of the binding requests that keep a
	// connection and its consent fresh.
	Keepalive time.Duration
}

// ForPeer returns n as it applies to a PeerConnection with a peer at host
// (a host name or address, "" when unknown): Loopback is set when n lets
// loopback be chosen automatically (neither Loopback nor NoLoopback) and
// either host is on this machine (localhost, 127.0.0.0/8, ::1, or a name
// that resolves only to those) or no interface but loopback is up on this
// machine, so that a peer on the same board, or a board without a
// network, still has a candidate. ctx bounds the name resolution.
func (n NetworkConfig) ForPeer(ctx context.Context, host string) NetworkConfig {
	if n.Loopback || n.NoLoopback {
		return n
	}
	n.Loopback = IsLoopbackHost(ctx, host) || OnlyLoopback(n)
	return n
}

// IsLoopbackHost reports whether host (a name or an address, with or
// without brackets) is this machine's loopback: "localhost" or a name under
// .localhost (RFC 6761 §6.3), an address in 127.0.0.0/8 or ::1, or a name
// whose every address is one of those. An empty host, or a name that does
// not resolve, is not.
func IsLoopbackHost(ctx context.Context, host string) bool {
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if host == "" {
		return false
	}
	if h := strings.ToLower(host); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap().IsLoopback()
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return false
	}
	return !slices.ContainsFunc(addrs, func(a netip.Addr) bool { return !a.Unmap().IsLoopback() })
}

// OnlyLoopback reports whether no interface that n lets ICE use, other
// than loopback, is up with an address of a network type n gathers on
// (IPv4, and IPv6 other than link-local if n.IPv6). The interfaces are
// n.Net's when it is set, else the operating system's as of now.
func OnlyLoopback(n NetworkConfig) bool {
	nw := n.Net
	if nw == nil {
		var err error
		if nw, err = stdnet.NewNet(); err != nil {
			return false // unknown: add no candidates nobody asked for
		}
	}
	ifaces, err := nw.Interfaces()
	if err != nil {
		return false
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		if len(n.Interfaces) > 0 && !slices.Contains(n.Interfaces, ifc.Name) {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
				if ip = ip.Unmap(); ip.Is4() || (n.IPv6 && !ip.IsLinkLocalUnicast()) {
					return false
				}
			}
		}
	}
	return true
}
