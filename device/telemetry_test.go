package device

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onair-dev/onair/audio"
	"github.com/onair-dev/onair/session"
	"github.com/onair-dev/onair/uplink"
)

// testJWT returns an unsigned-looking JWT with the claims given.
func testJWT(t *testing.T, claims string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(claims)) + ".c2ln"
}

// writeProc writes a fake /proc/self and thermal zone.
func writeProc(t *testing.T, dir string, utime, stime int, rssKB int, temp string) {
	t.Helper()
	stat := "4242 (onair (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 " +
		itoa(utime) + " " + itoa(stime) + " 0 0 20 0 12 0 100 1000000 250 18446744073709551615\n"
	status := "Name:\tonair\nVmPeak:\t  99999 kB\nVmRSS:\t   " + itoa(rssKB) + " kB\nThreads:\t12\n"
	for name, content := range map[string]string{"stat": stat, "status": status} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if temp != "" {
		if err := os.WriteFile(filepath.Join(dir, "temp"), []byte(temp), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTelemetrySampler(t *testing.T) {
	dir := t.TempDir()
	ts := newTelemetrySampler()
	ts.procSelf, ts.thermal = dir, filepath.Join(dir, "temp")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	writeProc(t, dir, 100, 50, 20480, "48312\n")
	st := session.Stats{Role: RoleHost, Level: audio.Level{RMSDBFS: -20.04, PeakDBFS: -6.26},
		Publisher: uplink.Stats{PacketsSent: 100, BytesSent: 8000, ReceiverReports: 1,
			RTT: 12500 * time.Microsecond, FractionLost: 0.0125, PacketsLost: 2, Jitter: 3 * time.Millisecond}}
	m := ts.sample(t0, &st, 1)
	if m.CPUPercent != nil || m.BitrateBPS != nil {
		t.Errorf("first sample has rates: %+v", m)
	}
	if *m.RSSBytes != 20480*1024 || *m.SoCTempC != 48.3 || *m.Packets != 100 || *m.RTTMs != 12.5 ||
		*m.Loss != 0.0125 || *m.JitterMs != 3 || m.Level.RMSDBFS != -20 || m.Level.PeakDBFS != -6.3 || m.Role != "host" {
		t.Errorf("first sample %+v", m)
	}

	writeProc(t, dir, 130, 70, 20480, "")
	_ = os.Remove(filepath.Join(dir, "temp"))
	st.Publisher.PacketsSent, st.Publisher.BytesSent = 600, 48000
	m = ts.sample(t0.Add(10*time.Second), &st, 1)
	// 50 ticks of 10 ms in 10 s: 5 % of a core; 40000 bytes in 10 s: 32 kbit/s.
	if m.CPUPercent == nil || *m.CPUPercent != 5 || m.BitrateBPS == nil || *m.BitrateBPS != 32000 || m.SoCTempC != nil {
		t.Errorf("second sample %+v", m)
	}

	// A new session: counters start again, no rate for this interval.
	aud := session.Stats{Role: RoleAudience, Subscriber: uplink.SubscriberStats{PacketsReceived: 10, BytesReceived: 800}}
	if m = ts.sample(t0.Add(20*time.Second), &aud, 2); m.BitrateBPS != nil || m.Loss != nil || m.RTTMs != nil {
		t.Errorf("new session %+v", m)
	}
	aud.Subscriber = uplink.SubscriberStats{PacketsReceived: 100, BytesReceived: 8000, PacketsLost: 10, Jitter: time.Millisecond}
	m = ts.sample(t0.Add(30*time.Second), &aud, 2)
	if *m.Loss != 0.1 || *m.BitrateBPS != 5760 || *m.PacketsLost != 10 || *m.JitterMs != 1 || m.Role != "audience" {
		t.Errorf("audience %+v", m)
	}

	if m = ts.sample(t0.Add(40*time.Second), nil, 0); m.Level != nil || m.Packets != nil || m.BitrateBPS != nil {
		t.Errorf("no session %+v", m)
	}
	b, _ := json.Marshal(m)
	var raw map[string]any
	_ = json.Unmarshal(b, &raw)
	for _, k := range []string{"level", "bitrate_bps", "rtt_ms", "loss", "jitter_ms", "soc_temp_c"} {
		if v, ok := raw[k]; !ok || v != nil {
			t.Errorf("%s: %v, want null", k, v)
		}
	}
}

// TestTelemetryPublished: the agent publishes telemetry every interval,
// with the session's numbers while it has one.
func TestTelemetryPublished(t *testing.T) {
	h := newHarness(t, harnessOpts{cfg: func(c *AgentConfig) { c.TelemetryInterval = 20 * time.Millisecond }})
	h.send(`{"action":"join","channel":"lobby"}`)
	f := h.ss.next(t)
	f.mu.Lock()
	f.stats = session.Stats{Level: audio.Level{RMSDBFS: -30, PeakDBFS: -10}, Publisher: uplink.Stats{PacketsSent: 5}}
	f.mu.Unlock()
	f.connect()
	h.pub.await(t, "telemetry with a session", func() bool {
		for _, m := range h.pub.all("telemetry") {
			var tm map[string]any
			if json.Unmarshal(m.payload, &tm) == nil && tm["packets"] == 5.0 && tm["state"] == "joined" &&
				tm["device"] == "d1" && tm["uptime_s"] != nil && tm["rss_bytes"] != nil {
				return true
			}
		}
		return false
	})
}
