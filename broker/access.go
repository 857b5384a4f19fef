package broker

import (
	"strings"

	"github.com/onair-dev/onair/control"
)

// Board is a standalone board's identity on its embedded broker. With it
// the broker tells three kinds of clients apart:
//
//   - the board (user BoardUser, Credentials.Board): it alone may use the
//     client identifier "onair-"+DeviceID, publish under P/D/ and read
//     P/D/cmd, P/all/cmd and P/group/G/cmd; it may also publish replies
//     where a command's reply_to asks (control.CheckReplyTo);
//   - operators (user OperatorUser, Credentials.Operator, or Config's
//     Username): they read and write everything, as DESIGN.md says;
//   - anonymous clients, which this machine's processes are: they may
//     read P/X/state, status, telemetry and events, and nothing else;
//     in particular not the commands, which carry tokens.
type Board struct {
	DeviceID    string
	TopicPrefix string // "onair" when empty
	Credentials Credentials
}

// role is a client's kind under a Board.
type role int

const (
	roleAnonymous role = iota
	roleBoard
	roleOperator
)

// access reports whether a client of role r may publish to topic (write)
// or subscribe to it and receive it. A subscription filter with wildcards
// is allowed: what it matches is checked message by message when it is
// delivered (mochi checks every delivery), so an anonymous "#" only
// receives what anonymous clients may read.
func (b *Board) access(r role, topic string, write bool) bool {
	if r == roleOperator {
		return true
	}
	if !write && strings.ContainsAny(topic, "+#") {
		return true
	}
	p := b.TopicPrefix
	own := p + "/" + b.DeviceID + "/"
	if write {
		return r == roleBoard && (strings.HasPrefix(topic, own) || control.CheckReplyTo(p, topic) == nil)
	}
	if r == roleBoard && (topic == own+"cmd" || topic == p+"/all/cmd" || isGroupCmd(p, topic)) {
		return true
	}
	rest, ok := strings.CutPrefix(topic, p+"/")
	if !ok {
		return false
	}
	dev, kind, ok := strings.Cut(rest, "/")
	if !ok || dev == "" || strings.Contains(kind, "/") {
		return false
	}
	switch kind {
	case "state", "status", "telemetry", "events":
		return true
	}
	return false
}

// isGroupCmd reports whether topic is P/group/G/cmd.
func isGroupCmd(p, topic string) bool {
	g, ok := strings.CutPrefix(topic, p+"/group/")
	name, ok2 := strings.CutSuffix(g, "/cmd")
	return ok && ok2 && name != "" && !strings.Contains(name, "/")
}
