// Package control is the device's MQTT transport: it keeps one session with
// the fleet's broker, delivers commands to a Handler and publishes replies,
// state, status, telemetry and events, as DESIGN.md "The MQTT contract" lays
// them out (prefix P, device D):
//
//	P/D/cmd, P/all/cmd, P/group/G/cmd  subscribed, QoS 1
//	P/D/reply (or a command's reply_to) QoS 1, not retained
//	P/D/state                           QoS 1, retained
//	P/D/status                          QoS 1, retained: "online", or "offline" (also the last will)
//	P/D/telemetry                       QoS 0, not retained
//	P/D/events                          QoS 1, not retained
//
// The protocol is MQTT 3.1.1 (OASIS standard, 2014); section numbers in the
// comments refer to it. The session is persistent (CleanSession 0, §3.1.2.4)
// under the client identifier "onair-" + D, so the broker queues QoS 1
// commands while the board is away. Telemetry is QoS 0 on purpose: a sample
// is superseded by the next one, so a lost or stale sample is worth neither a
// broker-side queue for every offline board nor a place in the queue of
// messages waiting for the connection.
//
// Status payloads are the bare words online and offline (not JSON strings),
// the convention dashboards expect of a last will.
//
// Request is the other side, for onair ctl: one command, one reply, on
// the reply_to topic P/ctl/<random>/reply.
//
// On a broker with per-device ACLs, a device needs to read its own, the
// fleet's and the groups' command topics and to write its own topics and
// the replies to onair ctl; with Mosquitto, client certificates and
// use_identity_as_username (the certificate's common name is D):
//
//	pattern read onair/all/cmd
//	pattern read onair/group/+/cmd
//	pattern readwrite onair/%u/#
//	pattern write onair/ctl/+/reply
//
// An operator running onair ctl needs to write P/+/cmd and read P/ctl/#.
package control
