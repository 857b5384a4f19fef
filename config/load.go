package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts every environment variable that sets a key:
// ONAIR_OPUS_BITRATE sets opus.bitrate.
const EnvPrefix = "ONAIR_"

// ExitCode is the process exit status for a configuration error
// (EX_CONFIG of sysexits.h); systemd does not restart on it.
const ExitCode = 78

// Error is a configuration error; Key names the offending key (or
// environment variable, or file) and Err says what is wrong with it.
type Error struct {
	Key string
	Err error
}

func (e *Error) Error() string { return "config: " + e.Key + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ErrUnknownKey is wrapped by the error for a key onair does not know.
var ErrUnknownKey = errors.New("unknown key")

// Sources are the layers Load reads on top of the defaults.
type Sources struct {
	// File is the YAML file given with --config; empty for none.
	File string
	// Environ is the environment as os.Environ returns it; only ONAIR_…
	// variables are read.
	Environ []string
	// Flags holds the command line; FlagKeys maps a flag name to the key it
	// sets. Only flags given on the command line override.
	Flags    *pflag.FlagSet
	FlagKeys map[string]string
}

// Load returns Defaults overlaid with the file, the environment and the
// flags of src, validated. Every error it returns is an *Error.
func Load(src Sources) (*Config, error) {
	v := newViper()
	keys := registerDefaults(v)

	if src.File != "" {
		if err := readFile(v, src.File, keys); err != nil {
			return nil, err
		}
	}
	if err := bindEnv(v, src.Environ, keys); err != nil {
		return nil, err
	}
	for name, key := range src.FlagKeys {
		if _, ok := keys[key]; !ok {
			return nil, &Error{Key: key, Err: fmt.Errorf("flag --%s: %w", name, ErrUnknownKey)}
		}
		if f := src.Flags.Lookup(name); f != nil && f.Changed {
			v.Set(key, f.Value.String())
		}
	}

	cfg := &Config{}
	if err := v.UnmarshalExact(cfg, strictDecoding); err != nil {
		return nil, decodeError(err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func newViper() *viper.Viper { return viper.New() }

// registerDefaults sets every leaf of Defaults as a viper default and
// returns the set of leaf keys.
func registerDefaults(v *viper.Viper) map[string]bool {
	keys := map[string]bool{}
	var walk func(prefix string, val reflect.Value)
	walk = func(prefix string, val reflect.Value) {
		t := val.Type()
		for i := 0; i < t.NumField(); i++ {
			key := prefix + t.Field(i).Tag.Get("mapstructure")
			if f := val.Field(i); f.Kind() == reflect.Struct && f.Type().PkgPath() == t.PkgPath() {
				walk(key+".", f)
			} else {
				v.SetDefault(key, f.Interface())
				keys[key] = true
			}
		}
	}
	walk("", reflect.ValueOf(Defaults()))
	return keys
}

// readFile merges the YAML file into v after checking that it names only
// known keys.
func readFile(v *viper.Viper, path string, keys map[string]bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return &Error{Key: path, Err: err}
	}
	var tree map[string]any
	if err := yaml.Unmarshal(data, &tree); err != nil {
		return &Error{Key: path, Err: fmt.Errorf("not valid YAML: %w", err)}
	}
	if err := checkKeys("", tree, keys); err != nil {
		return err
	}
	if err := v.MergeConfigMap(tree); err != nil {
		return &Error{Key: path, Err: err}
	}
	return nil
}

// checkKeys reports the first key of tree, in sorted order, that is neither
// a known leaf nor a section holding known leaves.
func checkKeys(prefix string, tree map[string]any, keys map[string]bool) error {
	names := make([]string, 0, len(tree))
	for k := range tree {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		key := prefix + k
		if keys[key] {
			continue
		}
		sub, isMap := tree[k].(map[string]any)
		if !isMap || !isSection(key, keys) {
			if isSection(key, keys) {
				return &Error{Key: key, Err: fmt.Errorf("must be a section of keys, not %T", tree[k])}
			}
			return &Error{Key: key, Err: ErrUnknownKey}
		}
		if err := checkKeys(key+".", sub, keys); err != nil {
			return err
		}
	}
	return nil
}

func isSection(key string, keys map[string]bool) bool {
	for k := range keys {
		if strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

// EnvName returns the environment variable that sets key.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// bindEnv applies ONAIR_… variables; one that names no key is an error.
func bindEnv(v *viper.Viper, environ []string, keys map[string]bool) error {
	byEnv := map[string]string{}
	for k := range keys {
		byEnv[EnvName(k)] = k
	}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		key, ok := byEnv[name]
		if !ok {
			return &Error{Key: name, Err: fmt.Errorf("environment variable: %w", ErrUnknownKey)}
		}
		v.Set(key, value)
	}
	return nil
}

// decodeError turns a mapstructure error into an *Error naming the key.
func decodeError(err error) error {
	var de *mapstructure.DecodeError
	if errors.As(err, &de) {
		return &Error{Key: de.Name(), Err: de.Unwrap()}
	}
	msg := err.Error()
	// mapstructure quotes the key: "'opus.bitrate' expected type 'int', …"
	if i := strings.IndexByte(msg, '\''); i >= 0 {
		if j := strings.IndexByte(msg[i+1:], '\''); j >= 0 {
			return &Error{Key: msg[i+1 : i+1+j], Err: errors.New(strings.TrimSpace(msg[i+j+2:]))}
		}
	}
	return &Error{Key: "config", Err: err}
}
