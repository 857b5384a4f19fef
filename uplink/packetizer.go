package uplink

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// packetizer turns Opus packets into RTP packets (RFC 3550 §5.1, RFC 7587
// §4.2: one Opus packet per RTP packet) on a track that outlives sessions.
type packetizer struct {
	track *webrtc.TrackLocalStaticRTP

	mu  sync.Mutex
	seq uint16 // next sequence number: +1 per packet sent
	ts  uint32 // RTP timestamp of the next packet: +samples per WriteOpus
	gap bool   // nothing was sent for the last frame(s): mark the next packet
}

func newPacketizer(track *webrtc.TrackLocalStaticRTP) *packetizer {
	// Random initial sequence number and timestamp (RFC 3550 §5.1).
	return &packetizer{
		track: track,
		seq:   uint16(rand.Uint32()),
		ts:    rand.Uint32(),
		gap:   true,
	}
}

// write packetizes one Opus packet covering samples on the 48 kHz clock.
// The timestamp always advances by samples. An empty payload (DTX, a skipped
// frame) or !connected sends nothing and marks the next packet sent as the
// start of a talkspurt (marker bit, RFC 3551 §4.1). It reports whether a
// packet was sent.
func (z *packetizer) write(payload []byte, samples uint32, connected bool) (bool, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	ts := z.ts
	z.ts += samples
	if len(payload) == 0 || !connected {
		z.gap = true
		return false, nil
	}
	pkt := rtp.Packet{
		Header: rtp.Header{
			Version:        2,
			Marker:         z.gap,
			PayloadType:    opusPayloadType, // rewritten per binding by the track
			SequenceNumber: z.seq,
			Timestamp:      ts,
		},
		Payload: payload,
	}
	z.seq++
	z.gap = false
	if err := z.track.WriteRTP(&pkt); err != nil {
		return true, fmt.Errorf("uplink: write rtp: %w", err)
	}
	return true, nil
}
