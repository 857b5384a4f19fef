package device

import (
	"math"

	"github.com/onair-dev/onair/audio"
	"github.com/onair-dev/onair/uplink"
)

// media is what the running role holds: a host's capture and publisher,
// or an audience's player and subscriber.
type media struct {
	capture    *capture
	publisher  *uplink.Publisher
	player     *audio.Player
	subscriber *uplink.Subscriber
}

// SessionStats is what a session measures, for telemetry.
type SessionStats struct {
	Role       Role
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
func (s *Session) Stats() SessionStats {
	s.mu.Lock()
	m, role := s.media, s.role
	s.mu.Unlock()
	st := SessionStats{Role: role, Level: audio.Level{RMSDBFS: audio.SilenceDBFS, PeakDBFS: audio.SilenceDBFS}}
	if m == nil {
		return st
	}
	if m.capture != nil {
		st.Level = m.capture.Level()
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
func (s *Session) SetGain(db float64) {
	s.gain.Store(math.Float64bits(db))
	s.mu.Lock()
	m := s.media
	s.mu.Unlock()
	if m != nil && m.capture != nil {
		m.capture.SetGain(db)
	}
}

// SetMuted mutes or unmutes the host input, now and for later host roles:
// a muted host sends silence and stays in the channel.
func (s *Session) SetMuted(muted bool) {
	s.muted.Store(muted)
	s.mu.Lock()
	m := s.media
	s.mu.Unlock()
	if m != nil && m.capture != nil {
		m.capture.SetMuted(muted)
	}
}

func (s *Session) gainDB() float64 { return math.Float64frombits(s.gain.Load()) }

// event reports e to SessionConfig.OnEvent.
func (s *Session) event(e Event) {
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(e)
	}
}
