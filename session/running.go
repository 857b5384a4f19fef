package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"golang.org/x/sync/errgroup"

	"github.com/onair-dev/onair/audio"
	"github.com/onair-dev/onair/channel"
	"github.com/onair-dev/onair/uplink"
)

// running is one role, started: its goroutines, the devices it holds and
// the moments the switch timing needs.
type running struct {
	cancel    context.CancelFunc
	done      chan struct{} // closed when the role's goroutines have ended
	err       error         // why they ended; read after done
	release   func()        // closes the role's audio device
	connected chan struct{} // closed when the session first connects
	media     chan struct{} // closed at the first packet sent or sample played

	connOnce, mediaOnce sync.Once
	connAt, firstAt     atomic.Int64 // unix nanoseconds
	lastAt              atomic.Int64
}

func newRunning() *running {
	return &running{done: make(chan struct{}), connected: make(chan struct{}), media: make(chan struct{})}
}

func (r *running) markConnected() {
	r.connOnce.Do(func() { r.connAt.Store(time.Now().UnixNano()); close(r.connected) })
}

func (r *running) markMedia(t time.Time) {
	r.lastAt.Store(t.UnixNano())
	r.mediaOnce.Do(func() { r.firstAt.Store(t.UnixNano()); close(r.media) })
}

func (r *running) connectedAt() time.Time { return time.Unix(0, r.connAt.Load()) }
func (r *running) firstMedia() time.Time  { return time.Unix(0, r.firstAt.Load()) }

// lastMedia is the role's last packet sent or sample played, zero if none.
func (r *running) lastMedia() time.Time {
	if n := r.lastAt.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// stop ends the role: its session is DELETEd and its device closed when
// stop returns. It returns the role's error, nil for a plain stop.
func (r *running) stop() error {
	r.cancel()
	<-r.done
	r.release()
	if errors.Is(r.err, context.Canceled) {
		return nil
	}
	return r.err
}

// start starts role in a context of its own derived from ctx.
func (s *Session) start(ctx context.Context, role channel.Role) (*running, error) {
	ctx, cancel := context.WithCancel(ctx)
	r := newRunning()
	r.cancel = cancel
	var run func(context.Context) error
	var err error
	switch role {
	case channel.RoleHost:
		run, r.release, err = s.host(r)
	case channel.RoleAudience:
		run, r.release, err = s.audience(r)
	default:
		err = fmt.Errorf("session: role %s: must be host or audience", role)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	s.cfg.Heartbeat.setPlaying(true)
	go func() {
		defer close(r.done)
		defer s.cfg.Heartbeat.setPlaying(false)
		r.err = run(ctx)
	}()
	return r, nil
}

// onState reports a session state change and marks the first connection.
func (s *Session) onState(r *running, role channel.Role) func(uplink.State, error) {
	return func(st uplink.State, err error) {
		if st == uplink.StateConnected {
			r.markConnected()
		}
		if s.cfg.OnState != nil {
			s.cfg.OnState(role, st, err)
		}
	}
}

// host prepares the host role: input → Opus → WHIP. The input is
// supervised (see capture): a microphone that fails does not end the role.
func (s *Session) host(r *running) (func(context.Context) error, func(), error) {
	u := s.cfg.Uplink
	pub, err := uplink.NewPublisher(uplink.PublisherConfig{
		URL: channel.ExpandURL(u.WHIPURL, s.cfg.Channel, s.cfg.UID), Token: s.cfg.Token,
		ICEServers: u.ICEServers, Network: u.Network, Channels: s.cfg.Audio.Channels,
		RequestTimeout: u.RequestTimeout, RetryMin: u.RetryMin, RetryMax: u.RetryMax,
		Log: s.log, OnState: s.onState(r, channel.RoleHost),
	})
	if err != nil {
		return nil, nil, err
	}
	s.setMedia(&media{publisher: pub})
	return func(ctx context.Context) error {
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error {
			return s.capture.run(gctx, func(f audio.Frame) error {
				s.cfg.Heartbeat.beat()
				if err := pub.WriteOpus(f.Payload, f.Samples); err != nil {
					return err
				}
				if len(f.Payload) > 0 && pub.State() == uplink.StateConnected {
					r.markMedia(time.Now())
				}
				return nil
			})
		})
		g.Go(func() error { return pub.Run(gctx) })
		return g.Wait()
	}, func() { s.setMedia(nil) }, nil
}

// audience prepares the audience role: WHEP → jitter buffers → decode →
// mix → output.
func (s *Session) audience(r *running) (func(context.Context) error, func(), error) {
	a, u := s.cfg.Audio, s.cfg.Uplink
	player, err := audio.NewPlayer(audio.PlayerConfig{
		Output:      a.Output,
		Format:      audio.Format{SampleRate: 48000, Channels: a.Channels, FrameMs: a.FrameMs},
		VolumeDB:    a.VolumeDB,
		TargetDelay: a.JitterDelay,
		Log:         s.log.With("component", "audio"),
		OnPlayed:    func(p audio.Played) { r.markMedia(p.Written) },
		OnFrame:     s.cfg.Heartbeat.beat,
	})
	if err != nil {
		return nil, nil, err
	}
	release := func() { s.setMedia(nil); _ = player.Close() }
	sub, err := uplink.NewSubscriber(uplink.SubscriberConfig{
		URL: channel.ExpandURL(u.WHEPURL, s.cfg.Channel, s.cfg.UID), Token: s.cfg.Token,
		ICEServers: u.ICEServers, Network: u.Network,
		RequestTimeout: u.RequestTimeout, RetryMin: u.RetryMin, RetryMax: u.RetryMax,
		Log: s.log, OnState: s.onState(r, channel.RoleAudience),
		Sink: playerSink{player},
		OnStream: func(ev uplink.StreamEvent) {
			name := EventStreamAdded
			if ev.Kind == uplink.StreamRemoved {
				player.RemoveStream(streamKey(ev.Stream))
				name = EventStreamRemoved
			}
			s.event(Event{Name: name, UID: ev.UID})
		},
	})
	if err != nil {
		release()
		return nil, nil, err
	}
	s.setMedia(&media{player: player, subscriber: sub})
	return func(ctx context.Context) error {
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error { return player.Run(gctx) })
		g.Go(func() error { return sub.Run(gctx) })
		return g.Wait()
	}, release, nil
}

// playerSink hands received packets to the player.
type playerSink struct{ p *audio.Player }

func (ps playerSink) Packet(id uplink.StreamID, pkt *rtp.Packet, arrival time.Time) {
	ps.p.Push(streamKey(id), pkt.SequenceNumber, pkt.Timestamp, pkt.Payload, arrival)
}

func streamKey(id uplink.StreamID) audio.StreamKey {
	return audio.StreamKey(strconv.Itoa(id.Slot) + "/" + strconv.FormatUint(id.N, 10))
}
