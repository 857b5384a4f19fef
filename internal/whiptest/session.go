package whiptest

import (
	"github.com/onair-dev/onair/internal/sdpfrag"

	"fmt"
	"sync"
	"time"

	"github.com/hraban/opus"
	"github.com/pion/webrtc/v4"
)

// gatherTimeout bounds the wait for the server's own ICE gathering.
const gatherTimeout = 2 * time.Second

// maxConcealed is the longest sequence gap filled by packet-loss concealment.
const maxConcealed = 10

// session is one session resource. pc, id, path and badAnswer are set before
// the session is registered and never change; the other fields are guarded
// by Server.mu, and op serialises PATCHes.
type session struct {
	id        int
	path      string
	pc        *webrtc.PeerConnection
	badAnswer bool
	ssrcs     []uint32 // WHEP: the SSRC each tone is sent with
	op        sync.Mutex

	etag        string
	offer       string // current remote offer (rewritten on ICE restart)
	remoteUfrag string
	deleted     bool
	closed      bool
	packets     int
	trickles    int
	restarts    int
	reports     int // reception report blocks about our tones
}

func (sess *session) snapshot() Session {
	st := webrtc.PeerConnectionStateUnknown
	if sess.pc != nil {
		st = sess.pc.ConnectionState()
	}
	return Session{
		ID:          sess.id,
		Location:    sess.path,
		ETag:        sess.etag,
		State:       st,
		Deleted:     sess.deleted,
		Closed:      sess.closed,
		BadAnswer:   sess.badAnswer,
		Packets:     sess.packets,
		Trickles:    sess.trickles,
		ICERestarts: sess.restarts,
		RemoteUfrag: sess.remoteUfrag,

		ReceiverReports: sess.reports,
	}
}

// answer creates the session's PeerConnection for offer and returns the
// answer with the candidates gathered (at most gatherTimeout). A WHIP
// server receives the offer's track; a WHEP server sends its tones on the
// offer's first audio sections.
func (s *Server) answer(sess *session, offer string) (string, error) {
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", fmt.Errorf("new peer connection: %w", err)
	}
	sess.pc = pc
	if s.mode == WHEP {
		if err := s.addTones(sess); err != nil {
			_ = pc.Close()
			return "", err
		}
	}
	pc.OnTrack(func(track *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
		s.spawn(func() { s.readRTP(sess, track) })
		s.spawn(func() { // drives the interceptors: SRs in, so RRs carry LSR/DLSR
			for {
				if _, _, err := rcv.ReadRTCP(); err != nil {
					return
				}
			}
		})
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		_ = pc.Close()
		return "", fmt.Errorf("set offer: %w", err)
	}
	local, err := answerAndGather(pc)
	if err != nil {
		_ = pc.Close()
		return "", err
	}
	sess.offer = offer
	sess.remoteUfrag = sdpfrag.Parse(offer).Ufrag
	return local, nil
}

// answerAndGather creates and sets the local answer and waits for gathering.
func answerAndGather(pc *webrtc.PeerConnection) (string, error) {
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("create answer: %w", err)
	}
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return "", fmt.Errorf("set answer: %w", err)
	}
	select {
	case <-done:
	case <-time.After(gatherTimeout):
	}
	return pc.LocalDescription().SDP, nil
}

// restart performs an ICE restart with the client's new ICE parameters:
// the previous offer with them applied is set as a new remote offer, and the
// new answer's ICE attributes are returned as an sdpfrag (RFC 9725 §4.3.2).
func (s *Server) restart(sess *session, f sdpfrag.Frag) (string, error) {
	s.mu.Lock()
	prev := sess.offer
	s.mu.Unlock()
	offer, err := sdpfrag.Restart(prev, f)
	if err != nil {
		return "", err
	}
	if err := sess.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("set restart offer: %w", err)
	}
	local, err := answerAndGather(sess.pc)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	sess.offer = offer
	sess.remoteUfrag = f.Ufrag
	s.mu.Unlock()
	answer := sdpfrag.Parse(local)
	answer.End = true
	return answer.String(), nil
}

// addCandidates adds trickled candidates (RFC 8840).
func (sess *session) addCandidates(f sdpfrag.Frag) error {
	for _, c := range f.Candidates {
		init := webrtc.ICECandidateInit{Candidate: "candidate:" + c}
		if f.Mid != "" {
			mid := f.Mid
			init.SDPMid = &mid
		} else {
			var idx uint16
			init.SDPMLineIndex = &idx
		}
		if err := sess.pc.AddICECandidate(init); err != nil {
			return fmt.Errorf("add candidate: %w", err)
		}
	}
	return nil
}

// readRTP records and decodes the packets of one track until it ends.
func (s *Server) readRTP(sess *session, track *webrtc.TrackRemote) {
	ch := s.channels
	dec, err := opus.NewDecoder(48000, ch)
	if err != nil {
		return
	}
	buf := make([]float32, 5760*ch) // 120 ms, the longest Opus packet
	var (
		last      uint16
		started   bool
		frameSize = 960
	)
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		var pcm []float32
		if gap := int(pkt.SequenceNumber - last - 1); started && gap > 0 && gap <= maxConcealed {
			for range gap {
				if dec.DecodePLCFloat32(buf[:frameSize*ch]) == nil {
					pcm = appendMono(pcm, buf[:frameSize*ch], ch)
				}
			}
		}
		started, last = true, pkt.SequenceNumber
		if n, err := dec.DecodeFloat32(pkt.Payload, buf); err == nil {
			frameSize = n
			pcm = appendMono(pcm, buf[:n*ch], ch)
		}
		s.mu.Lock()
		sess.packets++
		s.packets = append(s.packets, Packet{
			Session:        sess.id,
			SequenceNumber: pkt.SequenceNumber,
			Timestamp:      pkt.Timestamp,
			Marker:         pkt.Marker,
			SSRC:           pkt.SSRC,
			PayloadType:    pkt.PayloadType,
			PayloadSize:    len(pkt.Payload),
			Arrival:        now,
		})
		s.pcm = append(s.pcm, pcm...)
		s.mu.Unlock()
	}
}

// appendMono appends interleaved samples of ch channels as mono.
func appendMono(dst, src []float32, ch int) []float32 {
	if ch == 1 {
		return append(dst, src...)
	}
	for i := 0; i+ch <= len(src); i += ch {
		var sum float32
		for c := range ch {
			sum += src[i+c]
		}
		dst = append(dst, sum/float32(ch))
	}
	return dst
}
