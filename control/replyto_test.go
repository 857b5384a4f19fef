package control

import (
	"errors"
	"testing"
)

// TestCheckReplyTo: under the prefix only reply topics; outside it what
// CheckTopic allows.
func TestCheckReplyTo(t *testing.T) {
	for _, topic := range []string{"onair/d1/reply", "onair/ctl/0123/reply", "ops/replies", "onair", "onairx/d1/cmd", "a/onair/d1/cmd"} {
		if err := CheckReplyTo("onair", topic); err != nil {
			t.Errorf("%s: %v", topic, err)
		}
	}
	for _, topic := range []string{
		"onair/d1/cmd", "onair/all/cmd", "onair/group/g/cmd", "onair/d1/state", "onair/d1/status",
		"onair/d1/telemetry", "onair/d1/events", "onair/all/reply", "onair/group/reply", "onair//reply",
		"onair/ctl//reply", "onair/d1/reply/x", "onair/d1", "onair/", "onair/+/reply", "$SYS/x", "",
	} {
		if err := CheckReplyTo("onair", topic); !errors.Is(err, ErrInvalidTopic) {
			t.Errorf("%s: %v, want ErrInvalidTopic", topic, err)
		}
	}
	if err := CheckReplyTo("a/b", "a/b/d1/cmd"); !errors.Is(err, ErrInvalidTopic) {
		t.Errorf("two-level prefix: %v", err)
	}
	if err := CheckReplyTo("a/b", "a/d1/cmd"); err != nil {
		t.Errorf("outside a two-level prefix: %v", err)
	}
}
