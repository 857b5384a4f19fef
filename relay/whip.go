package relay

import (
	"fmt"

	"github.com/pion/webrtc/v4"

	chnames "github.com/onair-dev/onair/channel"
)

// prepareHost gives a WHIP session the local tracks its packets will be
// copied into, one per fan-out shard; each listener is bound to the track
// of its shard. The receiving transceiver is the one pion creates for the
// offer's send-only audio section; its track arrives by OnTrack. The
// tracks' stream id is the host's (channel.HostStreamID): a listener's
// answer names the host of each slot in its msid.
func (r *Relay) prepareHost(s *session) error {
	s.host = &hostPart{slot: -1}
	for range r.shards {
		track, err := webrtc.NewTrackLocalStaticRTP(hostCodec, "host-"+s.id[:8], chnames.HostStreamID(s.uid))
		if err != nil {
			return fmt.Errorf("relay: new host track: %w", err)
		}
		s.host.tracks = append(s.host.tracks, track)
	}
	return nil
}
