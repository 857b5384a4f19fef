package uplink

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func TestNext(t *testing.T) {
	for _, tc := range []struct {
		cur  State
		in   input
		want State
	}{
		{StateUnknown, inAttempt, StateConnecting},
		{StateConnecting, inConnected, StateConnected},
		{StateRetrying, inConnected, StateRetrying}, // stale: no session
		{StateConnected, inLost, StateRetrying},
		{StateConnecting, inUnauthorized, StateUnauthorized},
		{StateRetrying, inAttempt, StateConnecting},
		{StateConnected, inStopped, StateClosed},
	} {
		if got := next(tc.cur, tc.in); got != tc.want {
			t.Errorf("next(%s, %d) = %s, want %s", tc.cur, tc.in, got, tc.want)
		}
	}
	unauth := fmt.Errorf("uplink: post offer: %w", &statusError{Code: 401})
	if classify(unauth, false) != inUnauthorized || classify(unauth, true) != inStopped ||
		classify(errors.New("x"), false) != inLost {
		t.Error("classify")
	}
}

func TestStateString(t *testing.T) {
	want := []string{"unknown", "connecting", "connected", "retrying", "unauthorized", "closed"}
	for i, w := range want {
		if got := State(i).String(); got != w {
			t.Errorf("State(%d) = %q, want %q", i, got, w)
		}
	}
	if State(99).String() != "unknown" || State(-1).String() != "unknown" {
		t.Error("out of range state")
	}
}

func TestRTTFromReport(t *testing.T) {
	sr := time.Now()
	lsr := ntpMiddle(sr)
	dlsr := uint32(65536 / 2) // the receiver held the report 0.5 s
	arrival := sr.Add(500*time.Millisecond + 30*time.Millisecond)
	rtt, ok := rttFromReport(lsr, dlsr, arrival)
	if !ok || rtt < 29*time.Millisecond || rtt > 31*time.Millisecond {
		t.Errorf("rtt %s %v, want ~30ms", rtt, ok)
	}
	if _, ok := rttFromReport(0, 0, arrival); ok {
		t.Error("rtt without a sender report")
	}
	if rtt, ok := rttFromReport(lsr, dlsr, sr); !ok || rtt != 0 {
		t.Errorf("negative rtt gave %s", rtt)
	}
}

func TestStatsReport(t *testing.T) {
	var r statsRecorder
	r.rtcp([]rtcp.Packet{
		&rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{
			{SSRC: 7, FractionLost: 64, TotalLost: 0xFFFFFE, Jitter: 480}, // -2 lost (duplicates)
			{SSRC: 8, FractionLost: 255},                                  // not our stream
		}},
		&rtcp.PictureLossIndication{},
	}, 7, time.Now())
	s := r.snapshot()
	if s.ReceiverReports != 1 || s.FractionLost != 0.25 || s.PacketsLost != -2 || s.Jitter != 10*time.Millisecond {
		t.Errorf("stats %+v", s)
	}
}

func TestNewPublisherValidates(t *testing.T) {
	for _, cfg := range []PublisherConfig{
		{URL: ""},
		{URL: "ftp://x/whip"},
		{URL: "/whip"},
		{URL: "http://x/whip", Channels: 3},
		{URL: "http://x/whip", RetryMin: time.Second, RetryMax: time.Millisecond},
		{URL: "http://x/whip", ICEServers: []ICEServer{{URLs: []string{"http://not-stun"}}}},
	} {
		if _, err := NewPublisher(cfg); err == nil || !strings.HasPrefix(err.Error(), "uplink: ") {
			t.Errorf("NewPublisher(%+v) = %v, want an uplink error", cfg, err)
		}
	}
	p, err := NewPublisher(PublisherConfig{URL: "https://x/whip", Channels: 2})
	if err != nil {
		t.Fatal(err)
	}
	if p.cfg.RetryMin != DefaultRetryMin || p.cfg.RetryMax != DefaultRetryMax || p.cfg.RequestTimeout != DefaultRequestTimeout {
		t.Errorf("defaults not applied: %+v", p.cfg)
	}
	if err := p.WriteOpus([]byte{1, 2, 3}, 960); err != nil || p.Stats().PacketsDropped != 1 {
		t.Errorf("write while not connected: %v, %+v", err, p.Stats())
	}
}
