package channel

import "testing"

// Host stream ids carry any uid through the SDP token-chars and back;
// other stream ids are not hosts'.
func TestHostStreamID(t *testing.T) {
	for uid, want := range map[string]string{
		"alice":      "onair-host-alice",
		"7":          "onair-host-7",
		"a b:c%d":    "onair-host-a%20b%3Ac%25d",
		"élan/été":   "onair-host-%C3%A9lan%2F%C3%A9t%C3%A9",
		"x~y^z_1.2!": "onair-host-x~y^z_1.2!",
	} {
		id := HostStreamID(uid)
		if id != want {
			t.Errorf("HostStreamID(%q) = %q, want %q", uid, id, want)
		}
		if got, ok := ParseHostStreamID(id); !ok || got != uid {
			t.Errorf("ParseHostStreamID(%q) = %q, %v, want %q", id, got, ok, uid)
		}
	}
	for _, id := range []string{"", "onair", "onair-host-", "host-1234", "onair-host-a%2", "onair-host-a%zz", "onair-host-a b", "{3f2a}"} {
		if uid, ok := ParseHostStreamID(id); ok {
			t.Errorf("ParseHostStreamID(%q) = %q, true", id, uid)
		}
	}
}
