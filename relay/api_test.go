package relay

import (
	"math"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/onair-dev/onair/token"
	"github.com/onair-dev/onair/uplink"
)

// TestAPI: /api/channels lists the channels with their hosts and audience
// counts; /api/channels/{name} has each host's uid, since, packets, slot
// and the level of its real audio (a -12 dBFS tone reads -12 dBFS peak and
// -15 dBFS RMS); /healthz counts the sessions. An empty channel is 404.
func TestAPI(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{})
	const ch = "the api"
	start := time.Now().Add(-time.Second)
	h := startHost(t, tr.endpoint(kindHost, ch), mint(t, ch, "7", token.RoleHost), "tone:1000")
	h.waitState(t, uplink.StateConnected, connectTimeout)
	dialAudience(t, tr.endpoint(kindAudience, ch), mint(t, ch, "a1", token.RoleAudience))
	dialAudience(t, tr.endpoint(kindAudience, ch), mint(t, ch, "a2", token.RoleAudience))
	dialAudience(t, tr.endpoint(kindAudience, "elsewhere"), mint(t, "elsewhere", "a3", token.RoleAudience))
	var one ChannelInfo
	waitFor(t, 10*time.Second, "500 ms of audio at the meter", func() bool {
		getJSON(t, tr.url+"/api/channels/"+url.PathEscape(ch), &one)
		return len(one.Hosts) == 1 && one.Hosts[0].Packets >= 25
	})
	if one.Name != ch || one.Audience != 2 || len(one.Hosts) != 1 {
		t.Fatalf("channel %+v", one)
	}
	hi := one.Hosts[0]
	if hi.UID != "7" || hi.Slot != 0 || hi.Since.Before(start) || hi.Since.After(time.Now()) || hi.Packets < 10 {
		t.Errorf("host %+v", hi)
	}
	if math.Abs(hi.Level.PeakDBFS-(-12)) > 1.5 || math.Abs(hi.Level.RMSDBFS-(-15.05)) > 1.5 {
		t.Errorf("level %+v, want about -12 dBFS peak and -15 dBFS rms", hi.Level)
	}
	p1 := hi.Packets
	waitFor(t, 10*time.Second, "the packet count to go on", func() bool {
		getJSON(t, tr.url+"/api/channels/"+url.PathEscape(ch), &one)
		return len(one.Hosts) == 1 && one.Hosts[0].Packets >= p1+5
	})

	var list struct {
		Channels []ChannelInfo `json:"channels"`
	}
	getJSON(t, tr.url+"/api/channels", &list)
	if len(list.Channels) != 2 || list.Channels[0].Name != "elsewhere" || list.Channels[1].Name != ch ||
		list.Channels[0].Audience != 1 || len(list.Channels[0].Hosts) != 0 || list.Channels[1].Hosts[0].UID != "7" {
		t.Errorf("channels %+v", list.Channels)
	}
	resp := do(t, http.MethodGet, tr.url+"/api/channels", "", "", "")
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}

	var health struct {
		Status   string `json:"status"`
		Sessions int    `json:"sessions"`
	}
	getJSON(t, tr.url+"/healthz", &health)
	if health.Status != "ok" || health.Sessions != 4 {
		t.Errorf("healthz %+v", health)
	}

	wantError(t, do(t, http.MethodGet, tr.url+"/api/channels/nobody", "", "", ""), 404, codeNotFound)
	wantError(t, do(t, http.MethodGet, tr.url+"/api/channels/a%2Fb", "", "", ""), 400, codeInvalidChannel)
	wantError(t, do(t, http.MethodPost, tr.url+"/api/channels", "", "", ""), 405, codeMethodNotAllowed)

	h.stop()
	waitFor(t, 10*time.Second, "the host gone from the api", func() bool {
		var c ChannelInfo
		getJSON(t, tr.url+"/api/channels/"+url.PathEscape(ch), &c)
		return len(c.Hosts) == 0
	})
}

// TestLevelMeter: the meter covers the last 100 ms and decays to silence
// when the host stops sending.
func TestLevelMeter(t *testing.T) {
	var m levelMeter
	now := time.Now()
	if l := m.level(now); l.PeakDBFS != SilenceDBFS || l.RMSDBFS != SilenceDBFS {
		t.Errorf("empty meter %+v", l)
	}
	loud := make([]float32, 960)
	quiet := make([]float32, 960)
	for i := range loud {
		loud[i] = 0.5
		quiet[i] = 0.05
	}
	m.add(loud, now)
	for range 5 {
		m.add(quiet, now)
	}
	l := m.level(now)
	if math.Abs(l.PeakDBFS-(-26.02)) > 0.01 || math.Abs(l.RMSDBFS-(-26.02)) > 0.01 {
		t.Errorf("after 5 quiet frames %+v, want -26.02 (the loud frame is older than 100 ms)", l)
	}
	m.add(loud, now)
	if l := m.level(now); math.Abs(l.PeakDBFS-(-6.02)) > 0.01 {
		t.Errorf("peak %+v, want -6.02", l)
	}
	if l := m.level(now.Add(time.Second)); l.PeakDBFS != SilenceDBFS {
		t.Errorf("stale meter %+v", l)
	}
}
