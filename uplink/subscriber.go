package uplink

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	chnames "github.com/onair-dev/onair/channel"
)

// DefaultSlots is the number of receive-only audio sections a Subscriber
// offers by default: the onair relay's default number of host slots.
const DefaultSlots = 8

// maxSlots bounds SubscriberConfig.Slots.
const maxSlots = 64

// SubscriberConfig configures a Subscriber. The fields it shares with
// PublisherConfig mean the same, for a WHEP endpoint
// (draft-ietf-wish-whep-03 §4.6 to §4.8 follow RFC 9725).
type SubscriberConfig struct {
	URL        string        // the WHEP endpoint URL, already expanded (http or https)
	Token      string        // Bearer token (draft-ietf-wish-whep-03 §4.8.1); empty for none
	ICEServers []ICEServer   // configured STUN/TURN, merged with the endpoint's Link ones (§4.7)
	Network    NetworkConfig // where ICE candidates are gathered
	// Slots is the number of receive-only Opus sections in the offer
	// (§4.2), DefaultSlots if 0, at most 64. The onair relay sends the
	// host of slot i on section i. The draft allows one audio track per
	// session (§4.5.2): other servers send on the first section and answer
	// the others inactive, or need Slots 1.
	Slots          int
	RequestTimeout time.Duration // per HTTP request; DefaultRequestTimeout if 0
	RetryMin       time.Duration // first retry wait; DefaultRetryMin if 0
	RetryMax       time.Duration // longest retry wait; DefaultRetryMax if 0
	HTTPClient     *http.Client  // optional; copied, with a redirect policy if it has no CheckRedirect
	Log            *slog.Logger  // optional; a child logger with component=uplink is used
	// OnState, if set, is called from the Run goroutine on each state change
	// with the error that caused it (nil for connecting, connected, closed).
	OnState func(State, error)
	// OnStream, if set, is called from the Run goroutine when a stream is
	// added or removed. When a session ends, all its streams are removed
	// before OnState reports the next state.
	OnStream func(StreamEvent)
	// Sink, if set, receives every RTP packet; see Sink for the ordering
	// with OnStream.
	Sink Sink
}

// SubscriberStats is a snapshot of a Subscriber's counters.
type SubscriberStats struct {
	State     State  // current state
	LastError string // why the last session attempt failed; cleared when connected

	PacketsReceived uint64 // RTP packets received on every stream so far
	BytesReceived   uint64 // Opus payload bytes of PacketsReceived
	// PacketsLost counts the packets missing from the sequence numbers of
	// every stream so far (RFC 3550 §A.3), late arrivals deducted.
	PacketsLost int64
	// Jitter is the highest interarrival jitter (RFC 3550 §6.4.1) among the
	// current streams; 0 without streams.
	Jitter  time.Duration
	Streams int // current streams

	Reconnects  int // session attempts (POSTs) made after the first one of Run
	ICERestarts int // ICE restarts attempted by PATCH (draft-ietf-wish-whep-03 §4.4.3)
}

// Subscriber receives the Opus streams of a WHEP endpoint
// (draft-ietf-wish-whep-03) and keeps subscribed: it retries lost sessions
// with exponential backoff, restarts ICE by PATCH where the server allows
// it, and deletes the session when Run's context is cancelled. It reports
// streams as they come and go and hands their packets to a Sink. pion's
// interceptors send RTCP Receiver Reports (RFC 3550 §6.4.2) for them.
type Subscriber struct {
	cfg SubscriberConfig
	c   *client

	n              atomic.Uint64 // the last StreamID.N given
	packets, bytes atomic.Uint64
	lost           atomic.Int64

	mu      sync.Mutex
	streams map[StreamID]*rxStream // current streams; written by the Run goroutine

	hosts []slotHost // the current session's, by slot; the Run goroutine's only
}

// slotHost is who a slot carries, as the server signalled it: the msid
// of the slot's track (channel.HostStreamID) or, later, an RTCP SDES
// CNAME, which wins over the msid.
type slotHost struct {
	uid    string // "" when unknown
	byRTCP bool   // uid came from RTCP (an SDES, or a BYE that cleared it)
}

// NewSubscriber validates cfg, applies its defaults and returns a
// Subscriber. Nothing is sent before Run.
func NewSubscriber(cfg SubscriberConfig) (*Subscriber, error) {
	if cfg.Slots == 0 {
		cfg.Slots = DefaultSlots
	}
	if cfg.Slots < 1 || cfg.Slots > maxSlots {
		return nil, fmt.Errorf("uplink: slots %d: must be 1 to %d", cfg.Slots, maxSlots)
	}
	sub := &Subscriber{cfg: cfg, streams: map[StreamID]*rxStream{}}
	c, err := newClient(endpointConfig{cfg.URL, cfg.Token, cfg.ICEServers, cfg.Network,
		cfg.RequestTimeout, cfg.RetryMin, cfg.RetryMax, cfg.HTTPClient, cfg.Log, cfg.OnState}, "subscriber", sub)
	if err != nil {
		return nil, err
	}
	sub.c = c
	return sub, nil
}

// Run subscribes until ctx is cancelled, then deletes the session
// (draft-ietf-wish-whep-03 §4.3, with its own short timeout) and returns
// nil. Lost sessions are retried with exponential backoff and jitter
// between RetryMin and RetryMax, or after the Retry-After of a 503 (§4.6)
// or of a 409 sent while nothing is published (§4.2); a 401 or 403 is not
// retried: Run returns an error wrapping ErrUnauthorized. Every goroutine
// Run starts has ended when it returns. Run may be called again after it
// returned; a concurrent second Run returns ErrAlreadyRunning.
func (sub *Subscriber) Run(ctx context.Context) error { return sub.c.run(ctx) }

// State returns the current state.
func (sub *Subscriber) State() State { return sub.c.state() }

// RestartICE asks the current session to restart ICE
// (draft-ietf-wish-whep-03 §4.4.3): by PATCH where the server allows it,
// else by a new offer (a new session). It does not wait. A request made
// between sessions is dropped: the next session starts with fresh ICE.
func (sub *Subscriber) RestartICE() { sub.c.restartICE() }

// Stats returns a snapshot of the counters.
func (sub *Subscriber) Stats() SubscriberStats {
	st := sub.c.snapshot()
	s := SubscriberStats{State: st.State, LastError: st.LastError, Reconnects: st.Reconnects, ICERestarts: st.ICERestarts,
		PacketsReceived: sub.packets.Load(), BytesReceived: sub.bytes.Load(), PacketsLost: sub.lost.Load()}
	sub.mu.Lock()
	defer sub.mu.Unlock()
	s.Streams = len(sub.streams)
	for _, rx := range sub.streams {
		s.Jitter = max(s.Jitter, time.Duration(rx.jitter.Load()))
	}
	return s
}

// Payloads of the evMedia events a Subscriber's goroutines send.
type (
	streamUp   struct{ rx *rxStream } // the first packet of a stream arrived
	streamDown struct {               // the read goroutine ended a stream
		rx     *rxStream
		reason RemoveReason
	}
	streamBye struct { // an RTCP BYE arrived on a slot
		slot int
		ssrc uint32
	}
	streamHost struct { // the server named the host of a slot
		slot   int
		id     string // a stream id: an msid's, or an SDES CNAME
		byRTCP bool   // from an SDES, not from the msid
	}
)

// prepare adds Slots receive-only Opus transceivers (draft-ietf-wish-whep-03
// §4.2) and reads their RTCP; a goroutine reads each track pion reports.
func (sub *Subscriber) prepare(s *session) error {
	sub.hosts = make([]slotHost, sub.cfg.Slots)
	receivers := make([]*webrtc.RTPReceiver, sub.cfg.Slots)
	for i := range receivers {
		tr, err := s.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{
			Direction: webrtc.RTPTransceiverDirectionRecvonly,
		})
		if err != nil {
			return fmt.Errorf("add transceiver %d: %w", i, err)
		}
		receivers[i] = tr.Receiver()
		s.spawn(func() { sub.readRTCP(s, i, receivers[i]) })
	}
	s.pc.OnTrack(func(track *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		if slot := slices.Index(receivers, r); slot >= 0 {
			s.spawn(func() { sub.readRTP(s, slot, track) })
		}
	})
	return nil
}

// setConnected has nothing to do: streams come and go with their packets.
func (sub *Subscriber) setConnected(bool) {}

// handle applies what the read goroutines reported, in the session loop.
func (sub *Subscriber) handle(_ *session, payload any) {
	switch ev := payload.(type) {
	case streamUp:
		ev.rx.uid = sub.hostOf(ev.rx.id.Slot)
		sub.mu.Lock()
		sub.streams[ev.rx.id] = ev.rx
		sub.mu.Unlock()
		sub.report(StreamEvent{Kind: StreamAdded, Stream: ev.rx.id, UID: ev.rx.uid})
	case streamDown:
		sub.remove(ev.rx, ev.reason)
	case streamBye:
		for _, rx := range sub.current() {
			if rx.id.Slot == ev.slot && rx.id.SSRC == ev.ssrc {
				rx.removed.Store(true)
				sub.remove(rx, ReasonBye)
				sub.hosts[ev.slot] = slotHost{byRTCP: true} // the host left: none known until announced
			}
		}
	case streamHost:
		uid, ok := chnames.ParseHostStreamID(ev.id)
		switch {
		case !ok, !ev.byRTCP && sub.hosts[ev.slot].byRTCP:
		default:
			sub.hosts[ev.slot] = slotHost{uid: uid, byRTCP: ev.byRTCP}
		}
	}
}

// hostOf is the uid of slot's host, as the server named it, else
// "slot-N": a server that does not follow channel.HostStreamID.
func (sub *Subscriber) hostOf(slot int) string {
	if uid := sub.hosts[slot].uid; uid != "" {
		return uid
	}
	return "slot-" + strconv.Itoa(slot)
}

// ended removes every stream of the session, whose read goroutines have
// returned.
func (sub *Subscriber) ended(*session) {
	for _, rx := range sub.current() {
		sub.remove(rx, ReasonSessionEnded)
	}
}

// current returns the current streams, oldest first.
func (sub *Subscriber) current() []*rxStream {
	sub.mu.Lock()
	out := make([]*rxStream, 0, len(sub.streams))
	for _, rx := range sub.streams {
		out = append(out, rx)
	}
	sub.mu.Unlock()
	slices.SortFunc(out, func(a, b *rxStream) int { return cmp.Compare(a.id.N, b.id.N) })
	return out
}

// remove removes rx if it is current.
func (sub *Subscriber) remove(rx *rxStream, reason RemoveReason) {
	sub.mu.Lock()
	_, ok := sub.streams[rx.id]
	delete(sub.streams, rx.id)
	sub.mu.Unlock()
	if ok {
		sub.report(StreamEvent{Kind: StreamRemoved, Stream: rx.id, UID: rx.uid, Reason: reason})
	}
}

// report logs ev and hands it to OnStream.
func (sub *Subscriber) report(ev StreamEvent) {
	if ev.Kind == StreamAdded {
		sub.c.log.Info("stream added", "stream", ev.Stream, "uid", ev.UID)
	} else {
		sub.c.log.Info("stream removed", "stream", ev.Stream, "uid", ev.UID, "reason", ev.Reason)
	}
	if sub.cfg.OnStream != nil {
		sub.cfg.OnStream(ev)
	}
}
