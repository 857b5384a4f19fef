// Package fleet is the operator's side of a fleet of onair boards: a
// certificate authority, a registry of devices and claims in SQLite, the
// enrollment and renewal endpoints, and the broker's access files (a
// Mosquitto ACL and a CRL), as DESIGN.md "Identity and enrollment" and
// "The fleet server" lay them out.
//
// A board enrolls with a claim, a token the operator hands out (one token
// for many boards, with a number of uses and an expiry): it POSTs its
// device id and a CSR of its own key to /enroll and gets a certificate
// whose common name is its device id, the CA and the fleet's settings. It
// renews over mutual TLS with its current certificate at /renew. The
// broker authenticates the board by that certificate (CN = MQTT user
// name), checks the CRL, and applies the ACL this package writes.
//
// Every change to the registry that takes more than one statement runs in
// one SQLite transaction, so a process killed in the middle of an
// enrollment leaves no device half enrolled and no use of a claim spent
// for nothing.
package fleet
