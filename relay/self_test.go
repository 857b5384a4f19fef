package relay

import (
	"testing"
	"time"

	"github.com/onair-dev/onair/token"
	"github.com/onair-dev/onair/uplink"
)

// TestHostDoesNotHearItself: hosts alice (440 Hz) and bob (660 Hz) publish
// into one channel and each also subscribes with its host token, alice
// before the hosts start, bob after; each hears the other on the other's
// slot and gets no packet on its own slot, while an audience of another
// uid hears both. When alice leaves and comes back, bob still hears her
// and she still does not hear herself.
func TestHostDoesNotHearItself(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{})
	const ch = "intercom"
	aliceTok, bobTok := mint(t, ch, "alice", token.RoleHost), mint(t, ch, "bob", token.RoleHost)
	aliceEar := dialAudience(t, tr.endpoint(kindAudience, ch), aliceTok)

	alice := startHost(t, tr.endpoint(kindHost, ch), aliceTok, "tone:440")
	alice.waitState(t, uplink.StateConnected, connectTimeout)
	bob := startHost(t, tr.endpoint(kindHost, ch), bobTok, "tone:660")
	bob.waitState(t, uplink.StateConnected, connectTimeout)
	waitFor(t, 5*time.Second, "both hosts in the api", func() bool {
		h := hostsByUID(t, tr, ch)
		return h["alice"].Packets > 0 && h["bob"].Packets > 0
	})
	bobEar := dialAudience(t, tr.endpoint(kindAudience, ch), bobTok)
	carol := dialAudience(t, tr.endpoint(kindAudience, ch), mint(t, ch, "carol", token.RoleAudience))

	hosts := hostsByUID(t, tr, ch)
	sa, sb := hosts["alice"].Slot, hosts["bob"].Slot
	waitTone(t, aliceEar, sb, 660)
	waitTone(t, bobEar, sa, 440)
	waitTone(t, carol, sa, 440)
	waitTone(t, carol, sb, 660)
	if n := aliceEar.Packets(sa); n != 0 {
		t.Errorf("alice got %d packets of her own slot %d", n, sa)
	}
	if n := bobEar.Packets(sb); n != 0 {
		t.Errorf("bob got %d packets of his own slot %d", n, sb)
	}

	alice.stop()
	waitFor(t, 5*time.Second, "alice gone from the api", func() bool { return hostsByUID(t, tr, ch)["alice"].UID == "" })
	alice = startHost(t, tr.endpoint(kindHost, ch), aliceTok, "tone:440")
	alice.waitState(t, uplink.StateConnected, connectTimeout)
	waitFor(t, 5*time.Second, "alice back in the api", func() bool { return hostsByUID(t, tr, ch)["alice"].Packets > 0 })
	sa = hostsByUID(t, tr, ch)["alice"].Slot
	waitTone(t, bobEar, sa, 440)
	waitTone(t, carol, sa, 440)
	if n := aliceEar.Packets(sa); n != 0 {
		t.Errorf("alice got %d packets of her own slot %d after rejoining", n, sa)
	}
}
