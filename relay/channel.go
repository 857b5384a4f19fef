package relay

import (
	"net/url"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	chnames "github.com/onair-dev/onair/channel"
)

// channel is the hosts and audiences of one channel name. It exists while
// it has at least one session. Its fields are guarded by Relay.mu.
type channel struct {
	name     string
	slots    []*session            // the host in each slot, nil where free
	clocks   []*slotClock          // one per slot, kept while the channel exists
	audience map[*session]struct{} // WHEP sessions
}

// hostPart is what a host session adds: its slot and the local tracks
// its packets are copied into, one per fan-out shard.
type hostPart struct {
	slot    int // set by admit
	tracks  []*webrtc.TrackLocalStaticRTP
	writer  *slotWriter // set by admit
	meter   levelMeter
	packets atomic.Uint64
	started bool // forwarding started; the loop's only
}

// audiencePart is what an audience session adds: one sender per slot it
// receives, and for each the idle track it sends while the slot is empty,
// and the fan-out shard whose host tracks it receives.
type audiencePart struct {
	shard   int // set by admit
	senders []*webrtc.RTPSender
	idle    []webrtc.TrackLocal
}

// attach makes sender i send track. An already negotiated sender switches
// at once (RTPSender.ReplaceTrack); before negotiation the track is bound
// when sending starts.
func (s *session) attach(i int, track webrtc.TrackLocal) {
	if i >= len(s.aud.senders) {
		return // the audience offered fewer transceivers than slots
	}
	if err := s.aud.senders[i].ReplaceTrack(track); err != nil {
		s.log.Debug("replace track", "slot", i, "err", err)
	}
}

// detach makes sender i send its idle track, which carries no packets.
// (The idle track rather than nil: pion refuses to start a sender without
// a track, and a nil track would drop the section's SSRC from later
// answers.)
func (s *session) detach(i int) {
	if i < len(s.aud.senders) {
		s.attach(i, s.aud.idle[i])
	}
}

// admit enters s into the relay and its channel, or refuses it with a 503
// when the relay is closed or a limit is reached. A host takes the lowest
// free slot and every audience of the channel starts receiving it; an
// audience starts receiving every host (both but for a host of the
// audience's own uid, see hears). The session's loop starts.
func (r *Relay) admit(s *session) *httpError {
	var told []*session // audiences to announce the host to
	defer func() {
		for _, a := range told {
			a.announce(s.host.slot, s.uid)
		}
	}()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return unavailable("the relay is shutting down")
	}
	if len(r.sessions) >= r.cfg.MaxSessions {
		return unavailable("the relay holds %d sessions, the most it allows", r.cfg.MaxSessions)
	}
	if herr := r.checkAdmission(s.kind, s.anon, s.keys); herr != nil {
		return herr
	}
	ch := r.channels[s.channel]
	if ch == nil {
		ch = &channel{
			name:     s.channel,
			slots:    make([]*session, r.cfg.AudienceSlots),
			clocks:   make([]*slotClock, r.cfg.AudienceSlots),
			audience: map[*session]struct{}{},
		}
		for i := range ch.clocks {
			ch.clocks[i] = &slotClock{}
		}
	}
	switch s.kind {
	case kindHost:
		slot, hosts := -1, 0
		for i, h := range ch.slots {
			switch {
			case h != nil:
				hosts++
			case slot < 0:
				slot = i
			}
		}
		if hosts >= r.cfg.MaxHostsPerChannel || slot < 0 {
			return unavailable("channel %q has %d hosts, the most it allows", s.channel, hosts)
		}
		s.host.slot = slot
		s.host.writer = newSlotWriter(ch.clocks[slot], s.host.tracks)
		ch.slots[slot] = s
		for a := range ch.audience {
			if !a.hears(s) {
				continue
			}
			a.attach(slot, s.host.tracks[a.aud.shard])
			told = append(told, a)
		}
	case kindAudience:
		s.aud.shard = r.nextShard % r.shards
		r.nextShard++
		ch.audience[s] = struct{}{}
		for i, h := range ch.slots {
			if h != nil && s.hears(h) {
				s.attach(i, h.host.tracks[s.aud.shard])
			}
		}
	}
	r.channels[s.channel] = ch
	r.sessions[s.id] = s
	r.markPending(s)
	r.wg.Add(1)
	go r.loop(s)
	s.log.Info("session admitted", "slot", s.slotForLog(), "sessions", len(r.sessions))
	return nil
}

// hears reports whether the audience s receives the host h: every host
// but the one with s's own uid, so that a host that also subscribes to its
// channel (a browser on the channel page, a board with monitor) does not
// hear itself. Its slot stays idle for it.
func (s *session) hears(h *session) bool { return s.uid != h.uid }

// slotForLog returns the host's slot, or -1 for an audience.
func (s *session) slotForLog() int {
	if s.kind == kindHost {
		return s.host.slot
	}
	return -1
}

// remove takes s out of the relay and its channel: a host's slot is freed,
// every audience stops receiving it at once and is sent an RTCP BYE for
// the slot's SSRC (RFC 3550 §6.6), so that a subscriber ends the stream
// now rather than when it notices the silence; an empty channel goes.
func (r *Relay) remove(s *session) {
	var left []*session // audiences the host left
	defer func() {
		for _, a := range left {
			a.bye(s.host.slot)
		}
	}()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sessions[s.id] != s {
		return // never admitted
	}
	delete(r.sessions, s.id)
	r.unmarkPending(s)
	ch := r.channels[s.channel]
	if ch == nil {
		return
	}
	switch s.kind {
	case kindHost:
		if ch.slots[s.host.slot] == s {
			ch.slots[s.host.slot] = nil
			s.host.writer.detached.Store(true)
			for a := range ch.audience {
				if !a.hears(s) {
					continue // it never received the host
				}
				a.detach(s.host.slot)
				left = append(left, a)
			}
		}
	case kindAudience:
		delete(ch.audience, s)
	}
	if len(ch.audience) == 0 && ch.hosts() == 0 {
		delete(r.channels, s.channel)
	}
}

// bye sends an RTCP BYE for the SSRC of sender i (RFC 3550 §6.6). The
// sender keeps its SSRC: the next host of the slot continues the stream's
// numbering under it (slotClock).
func (s *session) bye(i int) {
	if i >= len(s.aud.senders) {
		return
	}
	enc := s.aud.senders[i].GetParameters().Encodings
	if len(enc) == 0 {
		return
	}
	bye := &rtcp.Goodbye{Sources: []uint32{uint32(enc[0].SSRC)}, Reason: "host left"}
	if err := s.pc.WriteRTCP([]rtcp.Packet{bye}); err != nil {
		s.log.Debug("rtcp bye", "slot", i, "err", err)
	}
}

// announce sends an RTCP SDES (RFC 3550 §6.5) for the SSRC of sender i
// whose CNAME names the host uid (channel.HostStreamID): the sender's
// msid was negotiated with the slot's earlier host, or none. An audience
// not connected yet drops it; it is announced every host when it
// connects (announceHosts).
func (s *session) announce(i int, uid string) {
	if i >= len(s.aud.senders) {
		return
	}
	enc := s.aud.senders[i].GetParameters().Encodings
	if len(enc) == 0 {
		return
	}
	sdes := &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
		Source: uint32(enc[0].SSRC),
		Items:  []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: chnames.HostStreamID(uid)}},
	}}}
	if err := s.pc.WriteRTCP([]rtcp.Packet{sdes}); err != nil {
		s.log.Debug("rtcp sdes", "slot", i, "err", err)
	}
}

// announceHosts announces every host of the audience s's channel to it
// (see announce), for the hosts that came between its answer and its
// connection.
func (r *Relay) announceHosts(s *session) {
	type host struct {
		slot int
		uid  string
	}
	var hosts []host
	r.mu.Lock()
	if ch := r.channels[s.channel]; ch != nil {
		for i, h := range ch.slots {
			if h != nil && s.hears(h) {
				hosts = append(hosts, host{i, h.uid})
			}
		}
	}
	r.mu.Unlock()
	for _, h := range hosts {
		s.announce(h.slot, h.uid)
	}
}

// hostWithUID returns the host of channel name whose uid is uid, if any.
func (r *Relay) hostWithUID(name, uid string) *session {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ch := r.channels[name]; ch != nil {
		for _, h := range ch.slots {
			if h != nil && h.uid == uid {
				return h
			}
		}
	}
	return nil
}

// hosts counts the channel's hosts.
func (ch *channel) hosts() int {
	n := 0
	for _, h := range ch.slots {
		if h != nil {
			n++
		}
	}
	return n
}

// info describes the channel for the API. Relay.mu must be held.
func (ch *channel) info(now time.Time) ChannelInfo {
	ci := ChannelInfo{Name: ch.name, Hosts: []HostInfo{}, Audience: len(ch.audience)}
	for i, h := range ch.slots {
		if h == nil {
			continue
		}
		ci.Hosts = append(ci.Hosts, HostInfo{
			UID:     h.uid,
			Since:   h.since.UTC(),
			Packets: h.host.packets.Load(),
			Level:   h.host.meter.level(now),
			Slot:    i,
		})
	}
	return ci
}

// escapeSegment escapes a channel name for a URL path segment.
func escapeSegment(name string) string { return url.PathEscape(name) }
