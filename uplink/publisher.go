// Package uplink publishes and subscribes live Opus audio over WebRTC with
// pion: a WHIP publisher (RFC 9725) and a WHEP subscriber
// (draft-ietf-wish-whep) sharing one session machinery, reconnect policy and
// stats, on the pion API they share with the relay (internal/rtcapi).
package uplink

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/onair-dev/onair/internal/rtcapi"
)

// PublisherConfig configures a Publisher.
type PublisherConfig struct {
	URL            string        // the WHIP endpoint URL, already expanded (http or https)
	Token          string        // Bearer token (RFC 9725 §4.7.1); empty for none
	ICEServers     []ICEServer   // configured STUN/TURN, merged with the endpoint's Link ones (RFC 9725 §4.6)
	Network        NetworkConfig // where ICE candidates are gathered
	Channels       int           // 1 (default) or 2: fmtp stereo=1;sprop-stereo=1 (RFC 7587 §6.1)
	RequestTimeout time.Duration // per HTTP request; DefaultRequestTimeout if 0
	RetryMin       time.Duration // first retry wait; DefaultRetryMin if 0
	RetryMax       time.Duration // longest retry wait; DefaultRetryMax if 0
	HTTPClient     *http.Client  // optional; copied, with a WHIP redirect policy if it has no CheckRedirect
	Log            *slog.Logger  // optional; a child logger with component=uplink is used
	// OnState, if set, is called from the Run goroutine on each state change
	// with the error that caused it (nil for connecting, connected, closed).
	OnState func(State, error)
}

// Publisher publishes one Opus track to a WHIP endpoint (RFC 9725) and keeps
// it published: it retries lost sessions with exponential backoff, restarts
// ICE by PATCH where the server allows it, and deletes the session when Run's
// context is cancelled.
type Publisher struct {
	cfg       PublisherConfig
	c         *client
	track     *webrtc.TrackLocalStaticRTP
	pk        *packetizer
	connected atomic.Bool // state is StateConnected: WriteOpus sends
	stats     statsRecorder
}

// NewPublisher validates cfg, applies its defaults and returns a Publisher.
// Nothing is sent before Run.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	if cfg.Channels == 0 {
		cfg.Channels = 1
	}
	if cfg.Channels != 1 && cfg.Channels != 2 {
		return nil, fmt.Errorf("uplink: channels %d: must be 1 or 2", cfg.Channels)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(rtcapi.OpusCodec(cfg.Channels).RTPCodecCapability, "audio", "onair")
	if err != nil {
		return nil, fmt.Errorf("uplink: new track: %w", err)
	}
	p := &Publisher{track: track, pk: newPacketizer(track)}
	p.c, err = newClient(endpointConfig{cfg.URL, cfg.Token, cfg.ICEServers, cfg.Network,
		cfg.RequestTimeout, cfg.RetryMin, cfg.RetryMax, cfg.HTTPClient, cfg.Log, cfg.OnState}, "publisher", p)
	if err != nil {
		return nil, err
	}
	cfg.RequestTimeout, cfg.RetryMin, cfg.RetryMax = p.c.cfg.RequestTimeout, p.c.cfg.RetryMin, p.c.cfg.RetryMax
	p.cfg = cfg
	return p, nil
}

// Run publishes until ctx is cancelled, then deletes the session (with its
// own short timeout) and returns nil. Lost sessions are retried with
// exponential backoff and jitter between RetryMin and RetryMax, or after a
// 503's Retry-After (RFC 9725 §4.5); a 401 or 403 (RFC 9725 §4.7) is not
// retried: Run returns an error wrapping ErrUnauthorized. Every goroutine Run
// starts has ended when it returns. Run may be called again after it
// returned; a concurrent second Run returns ErrAlreadyRunning.
func (p *Publisher) Run(ctx context.Context) error { return p.c.run(ctx) }

// State returns the current state.
func (p *Publisher) State() State { return p.c.state() }

// Stats returns a snapshot of the counters and of the last receiver report.
func (p *Publisher) Stats() Stats {
	s, st := p.stats.snapshot(), p.c.snapshot()
	s.State, s.LastError, s.Reconnects, s.ICERestarts = st.State, st.LastError, st.Reconnects, st.ICERestarts
	return s
}

// RestartICE asks the current session to restart ICE (RFC 9725 §4.3.2), e.g.
// after the board changed networks: by PATCH where the server allows it,
// else by a new offer (a new session). It does not wait. A request made
// between sessions is dropped: the next session starts with fresh ICE.
func (p *Publisher) RestartICE() { p.c.restartICE() }

// WriteOpus sends one Opus packet covering samples on the 48 kHz RTP clock
// (RFC 7587 §4.2). The RTP timestamp advances by samples on every call; an
// empty payload (DTX or a skipped frame) sends nothing and the next packet
// carries the marker bit (RFC 3551 §4.1). While no session is connected the
// packet is dropped and counted in Stats.PacketsDropped. It returns an
// error only when writing to a connected session fails. It is safe for
// concurrent use with Run; the track persists across reconnects.
func (p *Publisher) WriteOpus(payload []byte, samples uint32) error {
	sent, err := p.pk.write(payload, samples, p.connected.Load())
	if err != nil && !p.connected.Load() {
		sent, err = false, nil // the session ended meanwhile: a drop
	}
	switch {
	case sent:
		p.stats.sent.Add(1)
		p.stats.bytes.Add(uint64(len(payload)))
	case len(payload) > 0:
		p.stats.dropped.Add(1)
	}
	return err
}

// prepare adds the send-only Opus transceiver (RFC 9725 §4.2) and reads its
// RTCP: that drives the interceptors and yields the receiver reports.
func (p *Publisher) prepare(s *session) error {
	tr, err := s.pc.AddTransceiverFromTrack(p.track, webrtc.RTPTransceiverInit{
		Direction: webrtc.RTPTransceiverDirectionSendonly,
	})
	if err == nil && p.cfg.Channels == 2 {
		err = tr.SetCodecPreferences([]webrtc.RTPCodecParameters{rtcapi.OpusCodec(2)})
	}
	if err != nil {
		return fmt.Errorf("add track: %w", err)
	}
	sender := tr.Sender()
	ssrc := uint32(sender.GetParameters().Encodings[0].SSRC)
	s.spawn(func() {
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			p.stats.rtcp(pkts, ssrc, time.Now())
		}
	})
	return nil
}

// setConnected lets WriteOpus send while the session is connected.
func (p *Publisher) setConnected(connected bool) { p.connected.Store(connected) }

// handle has nothing to do: a Publisher's media needs no session events.
func (p *Publisher) handle(*session, any) {}

// ended has nothing to do: the track outlives sessions.
func (p *Publisher) ended(*session) {}
