package device

import (
	"strings"
	"testing"
)

// TestAgentReplyToContractTopics: a reply_to on a command, state, status,
// telemetry or events topic, or on all/ or group/, is refused
// invalid_argument on the default reply topic, whether the command was
// good or not, and changes nothing; reply topics and topics outside the
// prefix are obeyed.
func TestAgentReplyToContractTopics(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.sync()
	for _, topic := range []string{
		"onair/d1/cmd", "onair/d2/cmd", "onair/all/cmd", "onair/group/g1/cmd",
		"onair/d1/state", "onair/d2/status", "onair/d1/telemetry", "onair/d1/events",
		"onair/all/reply", "onair/group/reply", "onair/d1/reply/x", "onair/ctl/x/state",
	} {
		for _, cmd := range []string{
			`{"action":"mute","reply_to":"` + topic + `"}`,
			`{"action":"explode","reply_to":"` + topic + `"}`,
		} {
			r := h.fails(cmd, CodeInvalidArgument)
			if r.topic != "onair/d1/reply" || !strings.Contains(r.Error.Message, "reply_to") {
				t.Errorf("%s: reply on %q: %+v", cmd, r.topic, r.Error)
			}
		}
	}
	h.sync()
	if s := h.pub.state(t); s.Muted {
		t.Error("a refused mute muted the board")
	}
	for _, topic := range []string{"onair/d1/reply", "onair/ops/reply", "onair/ctl/abc/reply", "ops/onair/d1/cmd", "onairx/d1/cmd"} {
		id := h.send(`{"action":"status","reply_to":"` + topic + `"}`)
		if r := h.pub.reply(t, id); !r.OK || r.topic != topic {
			t.Errorf("reply_to %s: ok=%v on %q", topic, r.OK, r.topic)
		}
	}
}
