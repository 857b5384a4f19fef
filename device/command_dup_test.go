package device

import (
	"errors"
	"testing"
)

// TestCommandDuplicateKeys: a name twice in one object, at any depth and
// however it is escaped, is invalid_json; the same name in two objects
// is not a duplicate.
func TestCommandDuplicateKeys(t *testing.T) {
	for _, p := range []string{
		`{"id":"1","action":"status","action":"mute"}`,
		`{"id":"1","id":"2","action":"mute"}`,
		`{"id":"1","action":"mute","\u0061ction":"status"}`,
		`{"id":"1","action":"join","channel":"a","channel":null}`,
		`{"id":"1","action":"mute","x":{"a":1,"b":[{"c":1,"c":2}]}}`,
		`{"id":"1","action":"mute","x":[{"a":1},{"b":{"d":1e400,"d":2}}]}`,
	} {
		_, err := ParseCommand([]byte(p))
		var ce *CommandError
		if !errors.As(err, &ce) || ce.Code != CodeInvalidJSON {
			t.Errorf("%s: %v, want invalid_json", p, err)
		}
	}
	for _, p := range []string{
		`{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}],"c":[],"d":{}}`,
		`[{"a":1},{"a":1}]`,
		`{"a":"b","b":"a"}`,
	} {
		if name, dup := duplicateKey([]byte(p)); dup {
			t.Errorf("%s: duplicate %q", p, name)
		}
	}
	if _, err := ParseCommand([]byte(`{"id":"1","action":"mute"}`)); err != nil {
		t.Errorf("plain mute: %v", err)
	}
}
