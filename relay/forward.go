package relay

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hraban/opus"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/onair-dev/onair/internal/rtcapi"
)

// opusClock is the RTP clock rate of Opus (RFC 7587 §4.1).
const opusClock = rtcapi.OpusClockRate

// maxOpusFrame is the longest Opus packet in samples per channel at 48 kHz
// (120 ms, RFC 6716 §2.1.4).
const maxOpusFrame = 5760

// hostCodec is the capability of the local track a host's packets are
// copied into: Opus as onair's API registers it (RFC 7587 §7: always
// opus/48000/2 in SDP), so the tracks bind to every listener.
var hostCodec = rtcapi.OpusCodec(1).RTPCodecCapability

// startForwarding starts copying the host's first audio track into its
// local tracks (one goroutine per fan-out shard), and reading the receiver's RTCP so that the interceptors see
// the host's Sender Reports (the Receiver Reports then carry LSR/DLSR).
// Later tracks of the same session are ignored. Only the loop calls it.
func (r *Relay) startForwarding(s *session, remote *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
	if s.kind != kindHost || s.host.started || remote.Kind() != webrtc.RTPCodecTypeAudio {
		return
	}
	if !strings.EqualFold(remote.Codec().MimeType, webrtc.MimeTypeOpus) {
		s.log.Warn("host track is not opus, ignored", "codec", remote.Codec().MimeType)
		return
	}
	s.host.started = true
	s.log.Info("host track started", "ssrc", uint32(remote.SSRC()), "shards", len(s.host.tracks))
	w := s.host.writer
	s.spawn(func() {
		var wg sync.WaitGroup
		for k, q := range w.queues {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for pkt := range q {
					_ = w.tracks[k+1].WriteRTP(pkt)
				}
			}()
		}
		forward(s.host, remote)
		for _, q := range w.queues {
			close(q)
		}
		wg.Wait()
	})
	s.spawn(func() {
		for {
			if _, _, err := rcv.ReadRTCP(); err != nil {
				return
			}
		}
	})
}

// forward copies the packets of remote into the host's slot until the
// track ends (the PeerConnection closed), counting them and metering the
// decoded audio.
func forward(h *hostPart, remote *webrtc.TrackRemote) {
	dec, err := opus.NewDecoder(opusClock, 1)
	if err != nil {
		dec = nil // forward without metering
	}
	pcm := make([]float32, maxOpusFrame)
	for {
		pkt, _, err := remote.ReadRTP()
		if err != nil {
			return
		}
		if len(pkt.Payload) == 0 {
			continue // padding only
		}
		h.packets.Add(1)
		if dec != nil {
			if n, err := dec.DecodeFloat32(pkt.Payload, pcm); err == nil {
				h.meter.add(pcm[:n], time.Now())
			}
		}
		h.writer.write(pkt)
	}
}

// slotClock is the RTP numbering of one slot of a channel. Listeners keep
// the same sender (SSRC) for a slot while hosts come and go, so the slot
// continues one sequence and timestamp space across hosts (RFC 3550 §5.1):
// a new host's packets are renumbered to follow the previous host's.
type slotClock struct {
	mu      sync.Mutex
	started bool
	lastSeq uint16
	lastTS  uint32
	lastAt  time.Time
}

// shardQueue is how many packets a fan-out shard may lag behind before
// its listeners miss packets (a second of 20 ms frames).
const shardQueue = 50

// slotWriter writes one host's packets, renumbered on its slot's clock,
// into the host's local tracks: the forwarding goroutine writes shard 0,
// one goroutine per other shard writes a copy from its queue, so that the
// fan-out to many listeners (an SRTP packet and a send per listener) runs
// on several cores.
type slotWriter struct {
	clock    *slotClock
	tracks   []*webrtc.TrackLocalStaticRTP // by shard
	queues   []chan *rtp.Packet            // for shards 1…, written by write only
	dropped  atomic.Uint64                 // packets a lagging shard missed
	detached atomic.Bool                   // the host left the slot: the clock is no longer its

	based  bool // offsets set; the forwarder's only
	seqOff uint16
	tsOff  uint32
}

// write renumbers pkt and writes it to every listener of the track.
func (w *slotWriter) write(pkt *rtp.Packet) {
	if w.detached.Load() {
		return
	}
	c := w.clock
	c.mu.Lock()
	now := time.Now()
	if !w.based {
		w.based = true
		if c.started {
			// Continue the slot: the next sequence number, and the time
			// elapsed since the previous host's last packet (at least one
			// 20 ms frame) on the timestamp. Marker: a new talkspurt
			// (RFC 3551 §4.1).
			gap := max(now.Sub(c.lastAt), 20*time.Millisecond)
			w.seqOff = c.lastSeq + 1 - pkt.SequenceNumber
			w.tsOff = c.lastTS + uint32(gap.Seconds()*opusClock) - pkt.Timestamp
			pkt.Marker = true
		}
	}
	pkt.SequenceNumber += w.seqOff
	pkt.Timestamp += w.tsOff
	if !c.started || int16(pkt.SequenceNumber-c.lastSeq) > 0 {
		c.started, c.lastSeq, c.lastTS, c.lastAt = true, pkt.SequenceNumber, pkt.Timestamp, now
	}
	c.mu.Unlock()
	for _, q := range w.queues {
		select {
		case q <- pkt.Clone():
		default:
			w.dropped.Add(1)
		}
	}
	// Errors mean a listener's transport is closing; the others still get
	// the packet.
	_ = w.tracks[0].WriteRTP(pkt)
}

// newSlotWriter returns the writer of a host with local tracks into slot
// clock c.
func newSlotWriter(c *slotClock, tracks []*webrtc.TrackLocalStaticRTP) *slotWriter {
	w := &slotWriter{clock: c, tracks: tracks}
	for range tracks[1:] {
		w.queues = append(w.queues, make(chan *rtp.Packet, shardQueue))
	}
	return w
}
