package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"go.yaml.in/yaml/v3"
)

// strictDecoding turns off mapstructure's weak typing, so that a YAML value
// of the wrong type is an error, and parses the strings that environment
// variables and flags carry into the key's type.
func strictDecoding(c *mapstructure.DecoderConfig) {
	c.WeaklyTypedInput = false
	c.DecodeHook = parseString
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	loopbackType = reflect.TypeOf(Loopback(""))
)

// parseString converts a string to the kind of the field it is decoded
// into: numbers, booleans, durations ("250ms"), lists of strings
// (comma-separated) and lists of sections (YAML flow, e.g.
// `[{urls: ["stun:h:3478"]}]`); a YAML boolean for webrtc.loopback becomes
// "true" or "false". Other data passes through unchanged.
func parseString(from, to reflect.Type, data any) (any, error) {
	if b, ok := data.(bool); ok && to == loopbackType {
		return strconv.FormatBool(b), nil // webrtc.loopback: true or false
	}
	s, ok := data.(string)
	if !ok || from.Kind() != reflect.String {
		return data, nil
	}
	s = strings.TrimSpace(s)
	if to == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration such as 250ms or 10s", s)
		}
		return d, nil
	}
	switch to.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return n, nil
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return f, nil
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", s)
		}
		return b, nil
	case reflect.Slice:
		if to.Elem().Kind() == reflect.String {
			return splitList(s), nil
		}
		var list []any
		if err := yaml.Unmarshal([]byte(s), &list); err != nil {
			return nil, fmt.Errorf("%q is not a YAML list: %w", s, err)
		}
		return list, nil
	}
	return data, nil
}

// splitList splits "a, b c" into ["a" "b" "c"]; "" and "[]" are empty.
func splitList(s string) []string {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}
