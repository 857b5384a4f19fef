package whiptest

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/hraban/opus"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

const (
	toneFrame  = 960 // samples of a 20 ms frame at 48 kHz
	toneFrames = 50  // frames encoded: one second, looped
	tonePT     = 111 // payload type written; pion rewrites it per session
)

// tone is one sine a WHEP server sends: one second of Opus frames encoded
// once and looped, on a track every session shares. Its mutable fields are
// guarded by Server.mu.
type tone struct {
	track  *webrtc.TrackLocalStaticRTP
	frames [][]byte

	next int    // index of the next frame
	seq  uint16 // sequence number of the next packet
	ts   uint32 // RTP timestamp of the next frame, sent or not
	off  bool   // StopTone: frames are skipped
	mark bool   // the next packet starts a talkspurt (RFC 3551 §4.1)
}

// newTone encodes a sine of hz at half of full scale; one second holds a
// whole number of periods for a whole number of Hz, so the loop is seamless.
func newTone(hz float64, i int) (*tone, error) {
	if !(hz > 0 && hz < 24000) {
		return nil, fmt.Errorf("tone %g Hz: must be above 0 and below 24000", hz)
	}
	enc, err := opus.NewEncoder(48000, 1, opus.AppAudio)
	if err != nil {
		return nil, fmt.Errorf("opus encoder: %w", err)
	}
	pcm := make([]int16, toneFrame)
	buf := make([]byte, 1500)
	frames := make([][]byte, toneFrames)
	for f := range frames {
		for j := range pcm {
			n := float64(f*toneFrame + j)
			pcm[j] = int16(0.5 * math.MaxInt16 * math.Sin(2*math.Pi*hz*n/48000))
		}
		n, err := enc.Encode(pcm, buf)
		if err != nil {
			return nil, fmt.Errorf("encode tone: %w", err)
		}
		frames[f] = bytes.Clone(buf[:n])
	}
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
	}, fmt.Sprintf("tone%d", i), "whiptest") // one MediaStream (draft-ietf-wish-whep-03 §4.5.2)
	if err != nil {
		return nil, fmt.Errorf("tone track: %w", err)
	}
	// Random initial sequence number and timestamp (RFC 3550 §5.1).
	return &tone{track: track, frames: frames, seq: uint16(rand.Uint32()), ts: rand.Uint32(), mark: true}, nil
}

// tick sends the tone's next frame, unless it is stopped.
func (tn *tone) tick() {
	ts := tn.ts
	tn.ts += toneFrame
	if tn.off {
		tn.mark = true
		return
	}
	pkt := &rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: tonePT, SequenceNumber: tn.seq, Timestamp: ts, Marker: tn.mark},
		Payload: tn.frames[tn.next],
	}
	tn.seq++
	tn.next = (tn.next + 1) % len(tn.frames)
	tn.mark = false
	_ = tn.track.WriteRTP(pkt) // fails only for a session closing meanwhile
}

// pace sends a frame of every tone each 20 ms until Close.
func (s *Server) pace() {
	defer s.wg.Done()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		for _, tn := range s.tones {
			tn.tick()
		}
		s.mu.Unlock()
	}
}

// addTones gives a WHEP session one send-only transceiver per tone, before
// the offer is applied, so that pion pairs tone i with the offer's i-th
// audio section, as the onair relay pairs its host slots. The senders' RTCP
// is read: that drives the interceptors and counts the Receiver Reports.
func (s *Server) addTones(sess *session) error {
	for i, tn := range s.tones {
		tr, err := sess.pc.AddTransceiverFromTrack(tn.track, webrtc.RTPTransceiverInit{
			Direction: webrtc.RTPTransceiverDirectionSendonly,
		})
		if err != nil {
			return fmt.Errorf("add tone %d: %w", i, err)
		}
		sender := tr.Sender()
		ssrc := uint32(sender.GetParameters().Encodings[0].SSRC)
		sess.ssrcs = append(sess.ssrcs, ssrc)
		s.spawn(func() {
			for {
				pkts, _, err := sender.ReadRTCP()
				if err != nil {
					return
				}
				n := 0
				for _, p := range pkts {
					if rr, ok := p.(*rtcp.ReceiverReport); ok {
						for _, rep := range rr.Reports {
							if rep.SSRC == ssrc {
								n++
							}
						}
					}
				}
				s.mu.Lock()
				sess.reports += n
				s.mu.Unlock()
			}
		})
	}
	return nil
}

// StopTone stops sending tone i (WHEP): its stream goes silent on every
// session, as a host that stopped sending. StartTone resumes it.
func (s *Server) StopTone(i int) { s.setTone(i, true) }

// StartTone resumes sending tone i (WHEP) after StopTone or ByeTone; the
// first packet carries the marker bit.
func (s *Server) StartTone(i int) { s.setTone(i, false) }

func (s *Server) setTone(i int, off bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tones[i].off = off
}

// ByeTone stops tone i (WHEP) and sends an RTCP BYE (RFC 3550 §6.6) for its
// stream on every live session.
func (s *Server) ByeTone(i int) error {
	s.StopTone(i)
	type target struct {
		pc   *webrtc.PeerConnection
		ssrc uint32
	}
	var targets []target
	s.mu.Lock()
	for _, sess := range s.sessions {
		if sess.pc != nil && !sess.deleted && !sess.closed && i < len(sess.ssrcs) {
			targets = append(targets, target{sess.pc, sess.ssrcs[i]})
		}
	}
	s.mu.Unlock()
	for _, t := range targets {
		bye := &rtcp.Goodbye{Sources: []uint32{t.ssrc}, Reason: "tone stopped"}
		if err := t.pc.WriteRTCP([]rtcp.Packet{bye}); err != nil {
			return fmt.Errorf("whiptest: send bye: %w", err)
		}
	}
	return nil
}

// spawn runs f in a goroutine Close waits for, unless the server is closed.
func (s *Server) spawn(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}
