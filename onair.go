// Package onair holds the files shipped inside the onair binary.
package onair

import _ "embed" // config.yaml

// DefaultConfig is the shipped config.yaml, every key at its default: what
// `onair install` writes to /etc/onair/config.yaml.
//
//go:embed config.yaml
var DefaultConfig []byte
