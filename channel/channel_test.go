package channel

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	good := []string{"demo", "a", "Lobby 2", strings.Repeat("x", 64), "!#$%&()+-:;<=.>?@[]^_{|}~,"}
	for _, n := range good {
		if err := ValidateName(n); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", n, err)
		}
	}
	bad := []string{"", strings.Repeat("x", 65), "a/b", "caf\u00e9", "tab\there", "quote\"", "back\\slash", "star*", ".", ".."}
	for _, n := range bad {
		err := ValidateName(n)
		if !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", n, err)
		}
	}
}

func TestExpandURL(t *testing.T) {
	for _, c := range []struct{ template, name, uid, want string }{
		{"http://h/whip/{channel}?uid={uid}", "Lobby 2#", "7", "http://h/whip/Lobby%202%23?uid=7"},
		{"http://h/whip/{channel}?uid={uid}&c={channel}", "a&b=c", "x y&z", "http://h/whip/a&b=c?uid=x+y%26z&c=a%26b%3Dc"},
		{"http://h/{uid}/{channel}", "?/", "u", "http://h/u/%3F%2F"},
	} {
		if got := ExpandURL(c.template, c.name, c.uid); got != c.want {
			t.Errorf("ExpandURL(%q, %q, %q) = %q, want %q", c.template, c.name, c.uid, got, c.want)
		}
	}
}
