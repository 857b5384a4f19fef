package device

import (
	"bytes"
	"encoding/json"
)

// duplicateKey returns the first member name that appears twice in one
// object of the JSON text b, at any depth. RFC 8259 §4 only says names
// SHOULD be unique and encoding/json keeps the last value: a command like
// {"action":"status","action":"mute"} would read differently to a
// checker and to the board, so ParseCommand refuses it. b must be valid
// JSON; names are compared after unescaping, as encoding/json does.
func duplicateKey(b []byte) (string, bool) {
	type frame struct {
		keys    map[string]bool // nil for an array
		wantKey bool            // an object's next token is a name or '}'
	}
	var stack []frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // no float conversion: a number is only skipped
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false // io.EOF, or not JSON: not this function's call
		}
		if n := len(stack); n > 0 && stack[n-1].wantKey {
			if name, ok := tok.(string); ok {
				if stack[n-1].keys[name] {
					return name, true
				}
				stack[n-1].keys[name] = true
				stack[n-1].wantKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{keys: map[string]bool{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}
