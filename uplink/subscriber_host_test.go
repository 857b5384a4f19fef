package uplink

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// A stream's uid is its slot's host as the server named it: the msid
// (onair-host-…), an SDES CNAME that overrides it, nothing after a BYE;
// "slot-N" for a server that names no host.
func TestSubscriberStreamUIDs(t *testing.T) {
	var got []string
	sub, err := NewSubscriber(SubscriberConfig{URL: "http://127.0.0.1:9/whep", Slots: 3,
		OnStream: func(ev StreamEvent) { got = append(got, ev.Kind.String()+" "+ev.UID) }})
	if err != nil {
		t.Fatal(err)
	}
	sub.hosts = make([]slotHost, 3)
	n := uint64(0)
	up := func(slot int, ssrc uint32) *rxStream {
		n++
		rx := newRxStream(StreamID{Slot: slot, SSRC: ssrc, N: n}, &rtp.Packet{}, time.Now(), opusClockRate)
		sub.handle(nil, streamUp{rx: rx})
		return rx
	}
	sub.handle(nil, streamHost{slot: 0, id: "onair-host-alice"})
	sub.handle(nil, streamHost{slot: 1, id: "3f1c2a7e-mediamtx"}) // another server's msid
	sub.handle(nil, streamHost{slot: 2, id: "onair-host-b%20c"})
	sub.handle(nil, streamHost{slot: 2, id: "onair-host-7", byRTCP: true})
	sub.handle(nil, streamHost{slot: 2, id: "onair-host-late"}) // an msid after the SDES loses
	up(0, 10)
	up(1, 11)
	up(2, 12)
	sub.handle(nil, streamBye{slot: 0, ssrc: 10})
	up(0, 10) // the next host of slot 0, not announced
	want := []string{"added alice", "added slot-1", "added 7", "removed alice", "added slot-0"}
	if len(got) != len(want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %q, want %q", got, want)
		}
	}
}
