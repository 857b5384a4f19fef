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
	got := ExpandURL("http://h/whip/{channel}?uid={uid}", "Lobby 2#", "7")
	want := "http://h/whip/Lobby%202%23?uid=7"
	if got != want {
		t.Errorf("ExpandURL = %q, want %q", got, want)
	}
}
