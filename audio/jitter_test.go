package audio

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var jt0 = time.Unix(1_700_000_000, 0)

// at returns the fake time ms milliseconds after jt0.
func at(ms float64) time.Time { return jt0.Add(time.Duration(ms * float64(time.Millisecond))) }

// fakePayload returns an Opus-shaped payload whose TOC byte says it lasts
// ms milliseconds (CELT for 2.5 to 20 ms, SILK for 40 and 60), tagged with
// tag so tests can tell packets apart.
func fakePayload(ms float64, tag byte) []byte {
	configs := map[float64]byte{2.5: 28, 5: 29, 10: 30, 20: 31, 40: 10, 60: 11}
	c, ok := configs[ms]
	if !ok {
		panic(fmt.Sprintf("no TOC for %g ms", ms))
	}
	return []byte{c << 3, tag}
}

// pkt20 is a 20 ms packet with sequence number seq and timestamp
// ts0 + seq·960, arriving at ms.
func pkt20(seq uint16, ts0 uint32, ms float64) Packet {
	return Packet{Seq: seq, TS: ts0 + uint32(seq)*960, Samples: 960, Payload: fakePayload(20, byte(seq)), Arrival: at(ms)}
}

// units describes what Next hands out at now until it runs dry (a gap
// from an underrun or idle), as "P<seq>", "L<ms>" (PLC), "F<ms>:<tag>"
// (FEC from the packet tagged), "G<ms>", "I".
func units(jb *JitterBuffer, now time.Time, max int) string {
	var out []string
	for i := 0; i < max; i++ {
		u := jb.Next(now)
		ms := float64(u.Samples) / 48
		switch u.Kind {
		case UnitPacket:
			out = append(out, fmt.Sprintf("P%d", u.Seq))
		case UnitLost:
			if u.Payload != nil {
				out = append(out, fmt.Sprintf("F%g:%d", ms, u.Payload[1]))
			} else {
				out = append(out, fmt.Sprintf("L%g", ms))
			}
		case UnitGap:
			out = append(out, fmt.Sprintf("G%g", ms))
		default:
			out = append(out, "I")
		}
		if u.Kind == UnitIdle || (u.Kind == UnitGap && len(jb.pkts) == 0) {
			break
		}
	}
	return strings.Join(out, " ")
}

func pushAll(t *testing.T, jb *JitterBuffer, want PushResult, ps ...Packet) {
	t.Helper()
	for _, p := range ps {
		if got := jb.Push(p); got != want {
			t.Fatalf("push seq %d: %v, want %v", p.Seq, got, want)
		}
	}
}

func TestJitterInOrderWaitsForTarget(t *testing.T) {
	jb := NewJitterBuffer(JitterConfig{})
	for i := 0; i < 5; i++ {
		pushAll(t, jb, PushAccepted, pkt20(uint16(i), 1000, float64(i)*20))
	}
	if got := units(jb, at(39), 3); got != "I" {
		t.Errorf("before the 40 ms target: %s, want idle", got)
	}
	if got := units(jb, at(80), 10); got != "P0 P1 P2 P3 P4 G20" {
		t.Errorf("got %s", got)
	}
	if st := jb.Stats(); st.Lost != 0 || st.Late != 0 || st.Received != 5 || st.Underruns != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestJitterReorderedAndDuplicated(t *testing.T) {
	jb := NewJitterBuffer(JitterConfig{})
	pushAll(t, jb, PushAccepted, pkt20(0, 0, 0), pkt20(2, 0, 40), pkt20(1, 0, 45), pkt20(3, 0, 60))
	pushAll(t, jb, PushDuplicate, pkt20(2, 0, 61))
	if got := units(jb, at(100), 4); got != "P0 P1 P2 P3" {
		t.Errorf("got %s", got)
	}
	pushAll(t, jb, PushDuplicate, pkt20(1, 0, 101)) // played already
	if st := jb.Stats(); st.Duplicates != 2 || st.Lost != 0 || st.Late != 0 {
		t.Errorf("stats %+v", st)
	}
}

// One packet lost: the next one's FEC. Two in a row: PLC for the first,
// FEC for the second. The missing packet turning up later is late.
func TestJitterLossChoosesFECOrPLC(t *testing.T) {
	jb := NewJitterBuffer(JitterConfig{})
	pushAll(t, jb, PushAccepted, pkt20(0, 0, 0), pkt20(1, 0, 20), pkt20(3, 0, 60), pkt20(6, 0, 120), pkt20(7, 0, 140))
	if got := units(jb, at(200), 8); got != "P0 P1 F20:3 P3 L20 F20:6 P6 P7" {
		t.Errorf("got %s", got)
	}
	pushAll(t, jb, PushLate, pkt20(2, 0, 201))
	if st := jb.Stats(); st.Lost != 3 || st.Late != 1 {
		t.Errorf("stats %+v, want 3 lost, 1 late", st)
	}
}

// An empty buffer is concealed while waiting; a packet arriving during the
// wait still plays; one that never comes is made up by the wait.
func TestJitterUnderrunHoldsForLatePacket(t *testing.T) {
	jb := NewJitterBuffer(JitterConfig{})
	pushAll(t, jb, PushAccepted, pkt20(0, 0, 0), pkt20(1, 0, 20))
	if got := units(jb, at(60), 3); got != "P0 P1 G20" {
		t.Errorf("got %s", got)
	}
	pushAll(t, jb, PushAccepted, pkt20(2, 0, 85)) // 25 ms late
	if got := units(jb, at(90), 2); got != "P2 G20" {
		t.Errorf("late packet: got %s, want it played", got)
	}
	pushAll(t, jb, PushAccepted, pkt20(4, 0, 105)) // 3 lost, the wait covered it
	if got := units(jb, at(110), 2); got != "P4 G20" {
		t.Errorf("after a loss during the wait: got %s", got)
	}
	if st := jb.Stats(); st.Late != 0 || st.Lost != 1 || st.Underruns != 3 {
		t.Errorf("stats %+v, want 0 late, 1 lost, 3 underruns", st)
	}
}

// A stream that stops stalls after 100 ms of concealment; its next talk
// spurt (DTX: sequence numbers go on, the timestamp jumped) rebuffers.
func TestJitterStallAndRestart(t *testing.T) {
	jb := NewJitterBuffer(JitterConfig{})
	pushAll(t, jb, PushAccepted, pkt20(0, 0, 0))
	if got := units(jb, at(40), 8); got != "P0 G20" {
		t.Fatalf("got %s", got)
	}
	for i := 0; i < 4; i++ {
		units(jb, at(60+20*float64(i)), 1)
	}
	if got := units(jb, at(140), 1); got != "I" {
		t.Fatalf("after 100 ms of concealment: %s, want idle", got)
	}
	spurt := Packet{Seq: 1, TS: 48000 * 5, Samples: 960, Payload: fakePayload(20, 1), Arrival: at(5000)}
	pushAll(t, jb, PushAccepted, spurt)
	if got := units(jb, at(5030), 1); got != "I" {
		t.Errorf("restart before the target: %s", got)
	}
	if got := units(jb, at(5040), 1); got != "P1" {
		t.Errorf("restart: %s", got)
	}
	if st := jb.Stats(); st.Lost != 0 || st.Resets != 0 {
		t.Errorf("stats %+v: a DTX pause is neither loss nor a new sender", st)
	}
}

// A DTX gap inside the buffer (sequence numbers consecutive) is a gap, not
// a loss.
func TestJitterDTXGapIsNotLoss(t *testing.T) {
	jb := NewJitterBuffer(JitterConfig{})
	pushAll(t, jb, PushAccepted, pkt20(0, 0, 0),
		Packet{Seq: 1, TS: 960 * 3, Samples: 960, Payload: fakePayload(20, 1), Arrival: at(60)})
	if got := units(jb, at(100), 4); got != "P0 G20 G20 P1" {
		t.Errorf("got %s", got)
	}
	if st := jb.Stats(); st.Lost != 0 {
		t.Errorf("lost %d in a DTX gap", st.Lost)
	}
}

func TestJitterWrapAround(t *testing.T) {
	for _, tc := range []struct {
		name string
		seq  uint16
		ts   uint32
	}{
		{"sequence", 65530, 123456},
		{"timestamp", 100, 1<<32 - 960*5},
		{"both", 65533, 1<<32 - 960*2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jb := NewJitterBuffer(JitterConfig{})
			var want []string
			order := []int{0, 1, 2, 3, 5, 4, 6, 7, 8, 9, 10, 11} // one swap across the wrap
			for _, i := range order {
				p := Packet{Seq: tc.seq + uint16(i), TS: tc.ts + uint32(i)*960, Samples: 960, Payload: fakePayload(20, byte(i)), Arrival: at(float64(i) * 20)}
				pushAll(t, jb, PushAccepted, p)
			}
			for i := 0; i < 12; i++ {
				want = append(want, fmt.Sprintf("P%d", tc.seq+uint16(i)))
			}
			if got := units(jb, at(40), 12); got != strings.Join(want, " ") {
				t.Errorf("got  %s\nwant %s", got, strings.Join(want, " "))
			}
			if st := jb.Stats(); st.Lost != 0 || st.Resets != 0 || st.Late != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// A sender restart (new random sequence number and timestamp) resets the
// buffer once a second packet confirms it; a lone stray packet does not.
func TestJitterResetOnJump(t *testing.T) {
	jb := NewJitterBuffer(JitterConfig{})
	for i := 0; i < 5; i++ {
		pushAll(t, jb, PushAccepted, pkt20(uint16(100+i), 0, float64(i)*20))
	}
	units(jb, at(100), 5)
	stray := Packet{Seq: 30000, TS: 7, Samples: 960, Payload: fakePayload(20, 0), Arrival: at(101)}
	pushAll(t, jb, PushProbation, stray)
	pushAll(t, jb, PushAccepted, pkt20(105, 0, 102))
	if st := jb.Stats(); st.Resets != 0 {
		t.Fatalf("a stray packet reset the buffer: %+v", st)
	}
	units(jb, at(120), 1)
	newSender := func(i int) Packet {
		return Packet{Seq: 40000 + uint16(i), TS: 3_000_000_000 + uint32(i)*960, Samples: 960, Payload: fakePayload(20, byte(i)), Arrival: at(200 + float64(i)*20)}
	}
	pushAll(t, jb, PushProbation, newSender(0))
	pushAll(t, jb, PushReset, newSender(1))
	pushAll(t, jb, PushAccepted, newSender(2))
	if got := units(jb, at(239), 1); got != "I" {
		t.Errorf("after the reset: %s, want buffering", got)
	}
	if got := units(jb, at(240), 3); got != "P40000 P40001 P40002" {
		t.Errorf("new sender: %s", got)
	}
	// The same sequence numbers but a timestamp 10 s off, out of step with
	// the arrival times: a new sender too.
	pushAll(t, jb, PushProbation, Packet{Seq: 40003, TS: 3_000_000_000 + 3*960 + 480000, Samples: 960, Payload: fakePayload(20, 3), Arrival: at(260)})
	pushAll(t, jb, PushReset, Packet{Seq: 40004, TS: 3_000_000_000 + 4*960 + 480000, Samples: 960, Payload: fakePayload(20, 4), Arrival: at(280)})
	if st := jb.Stats(); st.Resets != 2 {
		t.Errorf("resets %d, want 2", st.Resets)
	}
}

func TestJitterPacketSizes(t *testing.T) {
	jb := NewJitterBuffer(JitterConfig{})
	ts := uint32(0)
	var want []string
	for i, ms := range []float64{10, 20, 40, 60, 20, 10} {
		p := Packet{Seq: uint16(i), TS: ts, Payload: fakePayload(ms, byte(i)), Arrival: at(float64(ts) / 48)}
		p.Samples, _ = PacketSamples(p.Payload)
		ts += uint32(p.Samples)
		pushAll(t, jb, PushAccepted, p)
		want = append(want, fmt.Sprintf("P%d", i))
	}
	if got := units(jb, at(40), 6); got != strings.Join(want, " ") {
		t.Errorf("got %s", got)
	}
	pushAll(t, jb, PushInvalid, Packet{Seq: 9, TS: ts, Samples: 0, Arrival: at(401)})
}

func TestJitterBufferedAndCapacity(t *testing.T) {
	jb := NewJitterBuffer(JitterConfig{})
	for i := 0; i < jitterCapacity+10; i++ {
		jb.Push(pkt20(uint16(i), 0, 0))
	}
	st := jb.Stats()
	if st.Overflows != 10 {
		t.Errorf("overflows %d, want 10", st.Overflows)
	}
	if b := jb.Buffered(0); b != jitterCapacity*20*time.Millisecond {
		t.Errorf("buffered %v", b)
	}
}

func TestEnumStrings(t *testing.T) {
	if PushReset.String() != "reset" || PushResult(99).String() != "unknown" || UnitLost.String() != "lost" || UnitKind(-1).String() != "unknown" {
		t.Error("enum names")
	}
}
