package session

import (
	"github.com/onair-dev/onair/audio"
	"github.com/onair-dev/onair/channel"
	"github.com/onair-dev/onair/uplink"
)

// media is what the running role holds: a host's publisher, or an
// audience's player and subscriber.
type media struct {
	publisher  *uplink.Publisher
	player     *audio.Player
	subscriber *uplink.Subscriber
}

// Stats is what a session measures, for telemetry.
type Stats struct {
	Role       channel.Role
	Level      audio.Level // input level as host, output level as audience
	Publishing bool        // a host whose WHIP session is connected
	Publisher  uplink.Stats
	Subscriber uplink.SubscriberStats
}

func (s *Session) setMedia(m *media) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.media = m
}

// Stats returns what the running role measures.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	m, role := s.media, s.role
	s.mu.Unlock()
	st := Stats{Role: role, Level: audio.Level{RMSDBFS: audio.SilenceDBFS, PeakDBFS: audio.SilenceDBFS}}
	if m == nil {
		return st
	}
	if m.publisher != nil {
		st.Level = s.capture.Level()
		st.Publisher = m.publisher.Stats()
		st.Publishing = st.Publisher.State == uplink.StateConnected
	}
	if m.player != nil {
		st.Level = m.player.Stats().Level
		st.Subscriber = m.subscriber.Stats()
	}
	return st
}

// SetGain sets the host input gain in dB, now and for later host roles.
func (s *Session) SetGain(db float64) { s.capture.SetGain(db) }

// SetMuted mutes or unmutes the host input, now and for later host roles:
// a muted host sends silence and stays in the channel.
func (s *Session) SetMuted(muted bool) { s.capture.SetMuted(muted) }

// event reports e to Config.OnEvent.
func (s *Session) event(e Event) {
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(e)
	}
}
