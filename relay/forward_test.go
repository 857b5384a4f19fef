package relay

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/dsp"
	"github.com/onair-dev/onair/internal/waitfor"
	"github.com/onair-dev/onair/internal/wheptest"
	"github.com/onair-dev/onair/token"
	"github.com/onair-dev/onair/uplink"
)

// hostsBySlot returns the channel's hosts indexed by uid.
func hostsByUID(t *testing.T, tr *testRelay, name string) map[string]HostInfo {
	t.Helper()
	ci, ok := tr.Channel(name)
	if !ok {
		return nil
	}
	out := map[string]HostInfo{}
	for _, h := range ci.Hosts {
		out[h.UID] = h
	}
	return out
}

// waitTone waits until transceiver slot of c plays hz (±2 Hz over the last
// 500 ms).
func waitTone(t *testing.T, c *wheptest.Client, slot int, hz float64) {
	t.Helper()
	var got float64
	if !waitfor.Poll(10*time.Second, func() bool {
		pcm := c.PCM(slot, 500*time.Millisecond)
		if len(pcm) != 24000 {
			return false
		}
		got = dsp.DominantFrequency(pcm, 48000)
		return math.Abs(got-hz) <= 2
	}) {
		t.Fatalf("slot %d: dominant frequency %.1f Hz, want %g ±2 (packets %d)", slot, got, hz, c.Packets(slot))
	}
}

// TestTwoHostsOneLeaves: two onair publishers (440 and 660 Hz tones) into
// one channel; Go WHEP audiences hear each on its slot's transceiver (two
// audiences, so that with more than one core the second is fed by another
// fan-out shard); when one host leaves (DELETE), its slot stops (and stays
// silent while the other slot carries on) and the API lists one host,
// while the other keeps playing.
func TestTwoHostsOneLeaves(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{})
	const ch = "lobby"
	aud := dialAudience(t, tr.endpoint(kindAudience, ch), mint(t, ch, "listener", token.RoleAudience))
	aud2 := dialAudience(t, tr.endpoint(kindAudience, ch), mint(t, ch, "listener2", token.RoleAudience))

	h1 := startHost(t, tr.endpoint(kindHost, ch), mint(t, ch, "h440", token.RoleHost), "tone:440")
	h1.waitState(t, uplink.StateConnected, connectTimeout)
	waitFor(t, 5*time.Second, "h440 in the api", func() bool { return hostsByUID(t, tr, ch)["h440"].Packets > 0 })
	h2 := startHost(t, tr.endpoint(kindHost, ch), mint(t, ch, "h660", token.RoleHost), "tone:660")
	h2.waitState(t, uplink.StateConnected, connectTimeout)
	waitFor(t, 5*time.Second, "h660 in the api", func() bool { return hostsByUID(t, tr, ch)["h660"].Packets > 0 })

	hosts := hostsByUID(t, tr, ch)
	s440, s660 := hosts["h440"].Slot, hosts["h660"].Slot
	if s440 != 0 || s660 != 1 {
		t.Fatalf("slots %d and %d, want 0 and 1", s440, s660)
	}
	for _, a := range []*wheptest.Client{aud, aud2} {
		waitTone(t, a, s440, 440)
		waitTone(t, a, s660, 660)
	}

	h1.stop() // Run returns after its DELETE was answered
	left := time.Now()
	if hosts := hostsByUID(t, tr, ch); len(hosts) != 1 || hosts["h660"].UID == "" {
		t.Fatalf("hosts after h440 left: %v", hosts)
	}
	// Packets in flight may still arrive; then the slot falls silent.
	waitFor(t, 10*time.Second, "slot 0 silent for 500 ms", func() bool {
		return time.Since(aud.LastPacket(s440)) > 500*time.Millisecond
	})
	t.Logf("last packet on slot %d %s after its host left", s440, aud.LastPacket(s440).Sub(left).Round(time.Millisecond))
	// 25 more packets (500 ms) on the other slot and none on this one.
	n, other := aud.Packets(s440), aud.Packets(s660)
	waitFor(t, 10*time.Second, "25 packets on slot 1", func() bool { return aud.Packets(s660) >= other+25 })
	if m := aud.Packets(s440); m != n {
		t.Errorf("slot %d still receiving: %d packets, then %d", s440, n, m)
	}
	for _, a := range []*wheptest.Client{aud, aud2} {
		before := a.Packets(s660)
		waitTone(t, a, s660, 660)
		waitFor(t, 10*time.Second, "slot 1 to carry on", func() bool { return a.Packets(s660) > before })
	}
	ci, _ := tr.Channel(ch)
	if len(ci.Hosts) != 1 || ci.Audience != 2 {
		t.Errorf("channel %+v", ci)
	}
}

// TestAudienceBeforeHost: an audience that subscribed to an empty channel
// hears a host that joins later (ReplaceTrack on a negotiated sender), and
// one that joins after the first left, in the same slot, continuing the
// slot's RTP numbering.
func TestAudienceBeforeHost(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{})
	const ch = "early birds"
	aud := dialAudience(t, tr.endpoint(kindAudience, ch), mint(t, ch, "a", token.RoleAudience))
	time.Sleep(300 * time.Millisecond)
	if aud.Packets(0) != 0 {
		t.Fatal("packets before any host")
	}
	h := startHost(t, tr.endpoint(kindHost, ch), mint(t, ch, "h1", token.RoleHost), "tone:440")
	waitTone(t, aud, 0, 440)
	h.stop()
	waitFor(t, 10*time.Second, "h1 gone from the api", func() bool { return len(hostsByUID(t, tr, ch)) == 0 })
	h2 := startHost(t, tr.endpoint(kindHost, ch), mint(t, ch, "h2", token.RoleHost), "tone:660")
	waitTone(t, aud, 0, 660)
	h2.stop()
	for i := 1; i < wheptest.DefaultTracks; i++ {
		if n := aud.Packets(i); n != 0 {
			t.Errorf("slot %d got %d packets", i, n)
		}
	}
}

// TestHostJoinsAndLeavesRepeatedly: a host that comes and goes five times
// is heard every time by an audience that stays, and the channel ends with
// no host.
func TestHostJoinsAndLeavesRepeatedly(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{})
	const ch = "revolving"
	aud := dialAudience(t, tr.endpoint(kindAudience, ch), mint(t, ch, "a", token.RoleAudience))
	tok := mint(t, ch, "h", token.RoleHost)
	for i := range 5 {
		hz := 400 + 100*i
		h := startHost(t, tr.endpoint(kindHost, ch), tok, "tone:"+strconv.Itoa(hz))
		waitTone(t, aud, 0, float64(hz))
		h.stop()
		waitFor(t, 10*time.Second, "host gone from the api", func() bool { return len(hostsByUID(t, tr, ch)) == 0 })
	}
	ci, ok := tr.Channel(ch)
	if !ok || len(ci.Hosts) != 0 || ci.Audience != 1 {
		t.Errorf("channel %+v %v", ci, ok)
	}
}
