package relay

import (
	"net/http"
	"sort"
	"time"

	chnames "github.com/onair-dev/onair/channel"
)

// ChannelInfo describes a channel in the API: GET /api/channels lists
// them, GET /api/channels/{name} returns one.
type ChannelInfo struct {
	Name     string     `json:"name"`
	Hosts    []HostInfo `json:"hosts"`    // by slot; never null
	Audience int        `json:"audience"` // WHEP sessions, host-token subscribers included
}

// HostInfo describes a host of a channel.
type HostInfo struct {
	UID     string    `json:"uid"`
	Since   time.Time `json:"since"`   // when the session was created (RFC 3339 in JSON)
	Packets uint64    `json:"packets"` // RTP packets received from the host
	Level   Level     `json:"level"`   // of the last ~100 ms of its audio
	Slot    int       `json:"slot"`    // the audience transceiver index that carries it
}

// Level is a loudness in dB relative to full scale: a full-scale sine has
// a peak of 0 dBFS and an RMS of -3.01 dBFS. SilenceDBFS is the floor.
type Level struct {
	RMSDBFS  float64 `json:"rms_dbfs"`
	PeakDBFS float64 `json:"peak_dbfs"`
}

// Channels returns every channel that has a session, sorted by name.
func (r *Relay) Channels() []ChannelInfo {
	now := time.Now()
	r.mu.Lock()
	out := make([]ChannelInfo, 0, len(r.channels))
	for _, ch := range r.channels {
		out = append(out, ch.info(now))
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Channel returns the channel name, and false when it has no session (a
// channel exists while someone is in it).
func (r *Relay) Channel(name string) (ChannelInfo, bool) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := r.channels[name]
	if ch == nil {
		return ChannelInfo{}, false
	}
	return ch.info(now), true
}

// apiChannels answers GET /api/channels: {"channels":[ChannelInfo…]}.
// The API is open: it needs no token, so that the listen page can read it
// without one. It reveals channel names, uids and levels, nothing more.
func (r *Relay) apiChannels(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		writeError(w, methodNotAllowed(req.Method, "GET, HEAD"))
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Channels []ChannelInfo `json:"channels"`
	}{r.Channels()})
}

// apiChannel answers GET /api/channels/{name} with a ChannelInfo; 404 for
// a channel without sessions, 400 for an invalid name. Open, like
// apiChannels.
func (r *Relay) apiChannel(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		writeError(w, methodNotAllowed(req.Method, "GET, HEAD"))
		return
	}
	name := req.PathValue("name")
	if err := chnames.ValidateName(name); err != nil {
		writeError(w, invalidChannel(name, err))
		return
	}
	ci, ok := r.Channel(name)
	if !ok {
		writeError(w, errorf(http.StatusNotFound, codeNotFound, "channel %q has nobody in it", name))
		return
	}
	writeJSON(w, http.StatusOK, ci)
}
