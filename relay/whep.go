package relay

import (
	"fmt"

	"github.com/pion/webrtc/v4"
)

// prepareAudience gives a WHEP session one send-only audio transceiver per
// receive-only audio section of its offer, up to AudienceSlots. They are
// added before the offer is applied, so pion pairs them with the offer's
// sections in order; transceiver i carries the host of slot i. Each starts
// with its own idle track (pion's placeholder, never written), which admit
// replaces by the hosts present. Offer sections beyond the slots get a
// transceiver of pion's that sends nothing.
func (r *Relay) prepareAudience(s *session, sections int) error {
	n := min(sections, r.cfg.AudienceSlots)
	s.aud = &audiencePart{}
	for i := range n {
		tr, err := s.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{
			Direction: webrtc.RTPTransceiverDirectionSendonly,
		})
		if err != nil {
			return fmt.Errorf("relay: add transceiver %d: %w", i, err)
		}
		sender := tr.Sender()
		s.aud.senders = append(s.aud.senders, sender)
		s.aud.idle = append(s.aud.idle, sender.Track())
		// Reading RTCP drives the sender's interceptors: NACKs are
		// answered with retransmissions, reports are consumed.
		s.spawn(func() {
			for {
				if _, _, err := sender.ReadRTCP(); err != nil {
					return
				}
			}
		})
	}
	return nil
}
