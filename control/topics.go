package control

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Topics are the topic names of one device under the MQTT contract of
// DESIGN.md.
type Topics struct {
	Cmd       string   // P/D/cmd: commands for this device
	All       string   // P/all/cmd: commands for every device
	Groups    []string // P/group/G/cmd for each configured group G
	Reply     string   // P/D/reply: replies to commands without reply_to
	State     string   // P/D/state: reported state, retained
	Status    string   // P/D/status: online/offline, retained, the last will
	Telemetry string   // P/D/telemetry
	Events    string   // P/D/events
}

// NewTopics returns the topics of device id under prefix, subscribing to
// the command topics of groups. It does not validate its arguments: New
// does (see CheckName).
func NewTopics(prefix, id string, groups []string) Topics {
	dev := prefix + "/" + id + "/"
	t := Topics{
		Cmd:       dev + "cmd",
		All:       prefix + "/all/cmd",
		Reply:     dev + "reply",
		State:     dev + "state",
		Status:    dev + "status",
		Telemetry: dev + "telemetry",
		Events:    dev + "events",
	}
	for _, g := range groups {
		t.Groups = append(t.Groups, prefix+"/group/"+g+"/cmd")
	}
	return t
}

// Commands returns the topic filters a device subscribes to: its own, all
// and its groups'.
func (t Topics) Commands() []string {
	return append([]string{t.Cmd, t.All}, t.Groups...)
}

// ctlReplyTopic is the reply_to topic of one onair ctl request.
func ctlReplyTopic(prefix, nonce string) string {
	return prefix + "/ctl/" + nonce + "/reply"
}

// CheckName reports whether s can be a device id, a group name or a level
// of the topic prefix: 1 to 64 bytes of ASCII letters, digits, '-', '_' and
// '.'. That excludes the MQTT separator '/' and the wildcards '+' and '#'
// (MQTT 3.1.1 §4.7.1) and keeps the name usable as part of a client
// identifier (§3.1.3.1), a user name and a certificate's common name.
func CheckName(s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("%q: must be 1 to 64 bytes", s)
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Errorf("%q: %q not allowed (letters, digits, '-', '_', '.')", s, r)
		}
	}
	return nil
}

// checkDeviceID is CheckName minus the names that are topic levels of the
// contract at a device's place: P/all/cmd, P/group/G/cmd and P/ctl/R/reply.
func checkDeviceID(s string) error {
	if err := CheckName(s); err != nil {
		return err
	}
	switch s {
	case "all", "group", "ctl":
		return fmt.Errorf("%q: reserved (all, group, ctl)", s)
	}
	return nil
}

// checkPrefix accepts one or more names separated by '/'.
func checkPrefix(s string) error {
	for level := range strings.SplitSeq(s, "/") {
		if err := CheckName(level); err != nil {
			return fmt.Errorf("%q: level %w", s, err)
		}
	}
	return nil
}

// CheckTopic reports whether a device may publish to topic, as a command's
// reply_to asks: a topic name of 1 to 65535 bytes of UTF-8 without U+0000
// (MQTT 3.1.1 §1.5.3, §4.7.3), without the wildcards '+' and '#' (§4.7.1,
// [MQTT-3.3.2-2]) and not starting with '$', which brokers keep for their
// own topics (§4.7.2).
func CheckTopic(topic string) error {
	switch {
	case topic == "" || len(topic) > 65535:
		return fmt.Errorf("%w: %q: must be 1 to 65535 bytes", ErrInvalidTopic, topic)
	case !utf8.ValidString(topic):
		return fmt.Errorf("%w: %q: not UTF-8", ErrInvalidTopic, topic)
	case strings.ContainsAny(topic, "+#\x00"):
		return fmt.Errorf("%w: %q: contains a wildcard or U+0000", ErrInvalidTopic, topic)
	case topic[0] == '$':
		return fmt.Errorf("%w: %q: starts with '$'", ErrInvalidTopic, topic)
	}
	return nil
}

// CheckReplyTo reports whether a device may publish a command's reply to
// topic, as its reply_to asks: a topic CheckTopic accepts that is either
// outside the contract (not under prefix+"/") or one of its reply topics,
// P/X/reply of a device X or P/ctl/R/reply of onair ctl. Any other topic
// under the prefix is refused: a reply on a command topic would be
// obeyed as a command (replies multiplying across a fleet, one board
// injecting into another's command stream), on a state, status,
// telemetry or events topic it would be taken for the device's report.
func CheckReplyTo(prefix, topic string) error {
	if err := CheckTopic(topic); err != nil {
		return err
	}
	rest, under := strings.CutPrefix(topic, prefix+"/")
	if !under {
		return nil
	}
	l := strings.Split(rest, "/")
	switch {
	case len(l) == 2 && l[1] == "reply" && l[0] != "" && l[0] != "all" && l[0] != "group":
		return nil
	case len(l) == 3 && l[0] == "ctl" && l[1] != "" && l[2] == "reply":
		return nil
	}
	return fmt.Errorf("%w: %q: under %s/ only reply topics (%s/D/reply, %s/ctl/R/reply)", ErrInvalidTopic, topic, prefix, prefix, prefix)
}
