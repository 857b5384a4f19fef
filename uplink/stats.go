package uplink

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"

	"github.com/onair-dev/onair/internal/rtcapi"
)

// opusClockRate is the RTP clock of Opus (RFC 7587 §4.1).
const opusClockRate = rtcapi.OpusClockRate

// Stats is a snapshot of a Publisher's counters and of what the receiver
// last reported in RTCP Receiver Reports (RFC 3550 §6.4.2).
type Stats struct {
	State     State  // current state
	LastError string // why the last session attempt failed; cleared when connected

	PacketsSent    uint64 // RTP packets written to a connected session
	BytesSent      uint64 // Opus payload bytes of PacketsSent
	PacketsDropped uint64 // Opus packets dropped because no session was connected

	ReceiverReports uint64        // reception report blocks received for our stream
	RTT             time.Duration // round-trip time from LSR/DLSR (RFC 3550 §6.4.1)
	FractionLost    float64       // fraction lost since the previous report, 0..1
	PacketsLost     int64         // cumulative number of packets lost, as reported
	Jitter          time.Duration // interarrival jitter, as reported

	Reconnects  int // session attempts (POSTs) made after the first one of Run
	ICERestarts int // ICE restarts attempted by PATCH (RFC 9725 §4.3.2)
}

// statsRecorder holds the counters behind Stats.
type statsRecorder struct {
	sent, bytes, dropped atomic.Uint64

	mu sync.Mutex
	s  Stats // fields other than the atomic counters
}

func (r *statsRecorder) snapshot() Stats {
	r.mu.Lock()
	s := r.s
	r.mu.Unlock()
	s.PacketsSent = r.sent.Load()
	s.BytesSent = r.bytes.Load()
	s.PacketsDropped = r.dropped.Load()
	return s
}

func (r *statsRecorder) update(f func(s *Stats)) {
	r.mu.Lock()
	f(&r.s)
	r.mu.Unlock()
}

// rtcp applies the reception reports about ssrc found in pkts, received at
// now.
func (r *statsRecorder) rtcp(pkts []rtcp.Packet, ssrc uint32, now time.Time) {
	for _, pkt := range pkts {
		var reports []rtcp.ReceptionReport
		switch p := pkt.(type) {
		case *rtcp.ReceiverReport:
			reports = p.Reports
		case *rtcp.SenderReport:
			reports = p.Reports
		}
		for _, rep := range reports {
			if rep.SSRC == ssrc {
				r.report(rep, now)
			}
		}
	}
}

// report applies one reception report block (RFC 3550 §6.4.1).
func (r *statsRecorder) report(rep rtcp.ReceptionReport, now time.Time) {
	rtt, hasRTT := rttFromReport(rep.LastSenderReport, rep.Delay, now)
	r.update(func(s *Stats) {
		s.ReceiverReports++
		s.FractionLost = float64(rep.FractionLost) / 256
		// cumulative number of packets lost: a signed 24-bit integer
		s.PacketsLost = int64(int32(rep.TotalLost<<8) >> 8)
		s.Jitter = time.Duration(uint64(rep.Jitter) * uint64(time.Second) / opusClockRate)
		if hasRTT {
			s.RTT = rtt
		}
	})
}

// rttFromReport computes the round-trip time of RFC 3550 §6.4.1,
// A - LSR - DLSR in units of 1/65536 s, where A is the arrival time now as
// the middle 32 bits of an NTP timestamp. It works because LSR echoes the NTP
// time of one of our own Sender Reports, taken from the same wall clock. It
// reports false when no Sender Report has been received yet (LSR 0); a
// negative result (rounding on a fast link) counts as 0.
func rttFromReport(lsr, dlsr uint32, now time.Time) (time.Duration, bool) {
	if lsr == 0 {
		return 0, false
	}
	d := ntpMiddle(now) - lsr - dlsr
	if int32(d) < 0 {
		return 0, true
	}
	return time.Duration(uint64(d) * uint64(time.Second) >> 16), true
}

// ntpMiddle returns the middle 32 bits of the NTP timestamp of t
// (RFC 3550 §4: seconds since 1900 in 32.32 fixed point).
func ntpMiddle(t time.Time) uint32 {
	const ntpEpochOffset = 2208988800 // seconds from 1900 to 1970
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := (uint64(t.Nanosecond()) << 32) / uint64(time.Second)
	return uint32((secs<<32 | frac) >> 16)
}
