package uplink

import (
	"errors"
	"net"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// receiveMTU is the read buffer size of the Subscriber's goroutines: more
// than any UDP payload pion accepts (its receive MTU is 1460).
const receiveMTU = 1500

// readRTP reads the track of slot until the session closes. It delivers
// each packet to the Sink and tells the session loop when a stream starts,
// goes idle for StreamIdleTimeout or is replaced by a new SSRC or a
// sequence restart (RFC 3550 §A.1); it changes no state of the Subscriber
// other than its counters. Reading through the track feeds pion's
// interceptors, which send the Receiver Reports (RFC 3550 §6.4.2).
func (sub *Subscriber) readRTP(s *session, slot int, track *webrtc.TrackRemote) {
	clock := float64(track.Codec().ClockRate)
	if clock <= 0 {
		clock = opusClockRate
	}
	// The track's msid names the slot's host as of the answer.
	if !s.send(event{kind: evMedia, media: streamHost{slot: slot, id: track.StreamID()}}) {
		return
	}
	buf := make([]byte, receiveMTU)
	var (
		pkt rtp.Packet
		rx  *rxStream // the current stream, nil while idle
	)
	end := func(reason RemoveReason) bool {
		ok := rx.removed.Load() || s.send(event{kind: evMedia, media: streamDown{rx: rx, reason: reason}})
		rx = nil
		return ok
	}
	for {
		var deadline time.Time // none while idle
		if rx != nil {
			deadline = time.Now().Add(StreamIdleTimeout)
		}
		_ = track.SetReadDeadline(deadline)
		n, _, err := track.Read(buf)
		at := time.Now()
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			if rx != nil && !end(ReasonIdle) {
				return
			}
			continue
		case errors.Is(err, webrtc.ErrCodecNotFound): // a payload type not negotiated: skip it
			continue
		case err != nil: // closed
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		var lost int64
		if rx != nil {
			restart := rx.id.SSRC != pkt.SSRC || rx.removed.Load()
			if !restart {
				lost, restart = rx.track(&pkt, at)
			}
			if restart && !end(ReasonReplaced) {
				return
			}
		}
		if rx == nil {
			rx = newRxStream(StreamID{Slot: slot, SSRC: pkt.SSRC, N: sub.n.Add(1)}, &pkt, at, clock)
			if !s.send(event{kind: evMedia, media: streamUp{rx: rx}}) {
				return
			}
		}
		sub.packets.Add(1)
		sub.bytes.Add(uint64(len(pkt.Payload)))
		sub.lost.Add(lost)
		if sub.cfg.Sink != nil {
			sub.cfg.Sink.Packet(rx.id, &pkt, at)
		}
	}
}

// readRTCP reads the RTCP of slot's receiver until the session closes. That
// drives pion's interceptors (the server's Sender Reports give our Receiver
// Reports their LSR and DLSR, RFC 3550 §6.4.1); an RTCP BYE (RFC 3550
// §6.6) and the CNAME of an SDES (§6.5.1) for the receiver's SSRC are
// handed to the session loop.
func (sub *Subscriber) readRTCP(s *session, slot int, r *webrtc.RTPReceiver) {
	buf := make([]byte, receiveMTU)
	for {
		n, _, err := r.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, ev := range rtcpEvents(pkts, slot, r) {
			if !s.send(event{kind: evMedia, media: ev}) {
				return
			}
		}
	}
}

// rtcpEvents returns what the RTCP packets of slot's receiver r tell the
// session loop: BYEs, and SDES CNAMEs for r's SSRC (an SDES for another
// source is not about this slot).
func rtcpEvents(pkts []rtcp.Packet, slot int, r *webrtc.RTPReceiver) []any {
	var out []any
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.Goodbye:
			for _, ssrc := range p.Sources {
				out = append(out, streamBye{slot: slot, ssrc: ssrc})
			}
		case *rtcp.SourceDescription:
			for _, c := range p.Chunks {
				if t := r.Track(); t != nil && t.SSRC() != 0 && uint32(t.SSRC()) != c.Source {
					continue
				}
				for _, it := range c.Items {
					if it.Type == rtcp.SDESCNAME {
						out = append(out, streamHost{slot: slot, id: it.Text, byRTCP: true})
					}
				}
			}
		}
	}
	return out
}
