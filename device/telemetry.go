package device

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/onair-dev/onair/session"
)

// userHZ is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100 on
// every Linux architecture a board runs).
const userHZ = 100

// telemetryMsg is one telemetry message. Numbers a session measures are
// null without a session, or when the interval gives no value (a first
// sample, a new session); cpu_percent is of one core.
type telemetryMsg struct {
	Device      string    `json:"device"`
	TS          string    `json:"ts"`
	State       State     `json:"state"`
	Role        string    `json:"role,omitempty"`
	Level       *levelMsg `json:"level"`
	BitrateBPS  *float64  `json:"bitrate_bps"`  // payload bits per second over the interval
	Packets     *uint64   `json:"packets"`      // RTP packets sent (host) or received (audience) by the session
	PacketsLost *int64    `json:"packets_lost"` // as the receiver reported (host), as missing (audience)
	RTTMs       *float64  `json:"rtt_ms"`       // RFC 3550 §6.4.1, host only
	Loss        *float64  `json:"loss"`         // fraction lost, 0…1
	JitterMs    *float64  `json:"jitter_ms"`
	CPUPercent  *float64  `json:"cpu_percent"`
	RSSBytes    *uint64   `json:"rss_bytes"`
	SoCTempC    *float64  `json:"soc_temp_c"` // null where the board has no thermal zone
	UptimeS     float64   `json:"uptime_s"`   // of the agent
}

type levelMsg struct {
	RMSDBFS  float64 `json:"rms_dbfs"`
	PeakDBFS float64 `json:"peak_dbfs"`
}

// telemetrySampler turns successive readings into telemetry: it keeps the
// previous reading to compute rates over the interval.
type telemetrySampler struct {
	procSelf string // /proc/self
	thermal  string // the SoC temperature, millidegrees Celsius

	at       time.Time
	cpuTicks uint64
	hasCPU   bool
	last     mediaCounters
	hasLast  bool
}

// mediaCounters are the session counters rates are computed from.
type mediaCounters struct {
	gen         uint64
	role        Role
	bytes, pkts uint64
	lost        int64
}

func newTelemetrySampler() *telemetrySampler {
	return &telemetrySampler{procSelf: "/proc/self", thermal: "/sys/class/thermal/thermal_zone0/temp"}
}

// sample reads the process and the session stats st (nil without a
// session) of session gen at now.
func (t *telemetrySampler) sample(now time.Time, st *session.Stats, gen uint64) telemetryMsg {
	var msg telemetryMsg
	dt := now.Sub(t.at).Seconds()
	first := t.at.IsZero() || dt <= 0
	t.at = now

	if ticks, ok := readCPUTicks(filepath.Join(t.procSelf, "stat")); ok {
		if t.hasCPU && !first && ticks >= t.cpuTicks {
			msg.CPUPercent = ptr(round(float64(ticks-t.cpuTicks)/userHZ/dt*100, 1))
		}
		t.cpuTicks, t.hasCPU = ticks, true
	}
	if rss, ok := readRSS(filepath.Join(t.procSelf, "status")); ok {
		msg.RSSBytes = &rss
	}
	if c, ok := readTemp(t.thermal); ok {
		msg.SoCTempC = &c
	}
	if st == nil {
		t.hasLast = false
		return msg
	}
	t.session(&msg, st, gen, first, dt)
	return msg
}

// session fills the session's numbers.
func (t *telemetrySampler) session(msg *telemetryMsg, st *session.Stats, gen uint64, first bool, dt float64) {
	msg.Role = st.Role.String()
	msg.Level = &levelMsg{RMSDBFS: round(st.Level.RMSDBFS, 1), PeakDBFS: round(st.Level.PeakDBFS, 1)}
	cur := mediaCounters{gen: gen, role: st.Role}
	if st.Role == RoleHost {
		p := st.Publisher
		cur.bytes, cur.pkts, cur.lost = p.BytesSent, p.PacketsSent, p.PacketsLost
		if p.ReceiverReports > 0 {
			msg.RTTMs = ptr(round(ms(p.RTT), 1))
			msg.Loss = ptr(round(p.FractionLost, 4))
			msg.JitterMs = ptr(round(ms(p.Jitter), 1))
			msg.PacketsLost = ptr(p.PacketsLost)
		}
	} else {
		s := st.Subscriber
		cur.bytes, cur.pkts, cur.lost = s.BytesReceived, s.PacketsReceived, s.PacketsLost
		msg.JitterMs = ptr(round(ms(s.Jitter), 1))
		msg.PacketsLost = ptr(s.PacketsLost)
	}
	msg.Packets = ptr(cur.pkts)
	prev := t.last
	same := t.hasLast && !first && prev.gen == cur.gen && prev.role == cur.role &&
		cur.bytes >= prev.bytes && cur.pkts >= prev.pkts
	if same {
		msg.BitrateBPS = ptr(round(float64(cur.bytes-prev.bytes)*8/dt, 0))
		if st.Role == RoleAudience {
			got, lost := float64(cur.pkts-prev.pkts), float64(cur.lost-prev.lost)
			if lost < 0 {
				lost = 0
			}
			if got+lost > 0 {
				msg.Loss = ptr(round(lost/(got+lost), 4))
			}
		}
	}
	t.last, t.hasLast = cur, true
}

// publishTelemetry publishes one telemetry message.
func (a *Agent) publishTelemetry() {
	var st *session.Stats
	var gen uint64
	if c := a.cur; c != nil && !a.m.sess.stopping {
		s := c.s.Stats()
		st, gen = &s, c.gen
	}
	now := a.now()
	msg := a.tele.sample(now, st, gen)
	msg.Device = a.cfg.DeviceID
	msg.TS = now.UTC().Format(time.RFC3339Nano)
	msg.State = a.m.rep.State
	msg.UptimeS = round(now.Sub(a.started).Seconds(), 1)
	b, err := json.Marshal(msg)
	if err != nil {
		a.log.Error("encode telemetry", "error", err)
		return
	}
	if err := a.cfg.Publisher.PublishTelemetry(b); err != nil {
		a.log.Warn("publish telemetry", "error", err)
	}
}

// readCPUTicks returns utime+stime of /proc/PID/stat (fields 14 and 15,
// proc(5)); the command name in parentheses may hold spaces.
func readCPUTicks(path string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return u + s, true
}

// readRSS returns VmRSS of /proc/PID/status in bytes.
func readRSS(path string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		return kb * 1024, err == nil
	}
	return 0, false
}

// readTemp returns a thermal zone's temperature in °C.
func readTemp(path string) (float64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	milli, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, false
	}
	return round(float64(milli)/1000, 1), true
}

func ptr[T any](v T) *T { return &v }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// round rounds x to n decimals.
func round(x float64, n int) float64 {
	p := math.Pow(10, float64(n))
	return math.Round(x*p) / p
}
