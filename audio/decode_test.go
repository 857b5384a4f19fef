package audio

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/hraban/opus"
	"github.com/onair-dev/onair/internal/dsp"
)

func TestPacketSamples(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    []byte
		want int
	}{
		{"SILK NB 10 ms", []byte{0 << 3, 0}, 480},
		{"SILK WB 60 ms", []byte{11 << 3}, 2880},
		{"hybrid FB 20 ms stereo", []byte{15<<3 | 4}, 960},
		{"CELT 2.5 ms", []byte{16 << 3}, 120},
		{"CELT 20 ms, two equal frames", []byte{31<<3 | 1, 1, 2}, 1920},
		{"CELT 20 ms, two frames", []byte{31<<3 | 2, 1, 5, 6}, 1920},
		{"CELT 20 ms, code 3 × 3", []byte{31<<3 | 3, 3, 0, 0, 0}, 2880},
		{"CELT 2.5 ms, code 3 × 48", []byte{16<<3 | 3, 48}, 5760},
	} {
		if got, err := PacketSamples(tc.p); err != nil || got != tc.want {
			t.Errorf("%s: %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
	for _, bad := range [][]byte{nil, {31<<3 | 3}, {31<<3 | 3, 0}, {31<<3 | 3, 7}} {
		if _, err := PacketSamples(bad); !errors.Is(err, ErrBadPacket) {
			t.Errorf("%x: %v, want ErrBadPacket", bad, err)
		}
	}
}

func TestFirstFrame(t *testing.T) {
	for _, tc := range []struct {
		p    []byte
		want []byte
	}{
		{[]byte{0, 9, 8}, []byte{9, 8}},
		{[]byte{1, 1, 2, 3, 4}, []byte{1, 2}},
		{[]byte{2, 1, 7, 8, 9}, []byte{7}},
		{[]byte{3, 2, 5, 6, 7, 8}, []byte{5, 6}},                 // CBR, 2 frames
		{[]byte{3, 0x80 | 3, 1, 2, 9, 8, 8, 7, 7}, []byte{9}},    // VBR, lengths 1 and 2
		{[]byte{3, 0x40 | 2, 2, 5, 6, 7, 8, 0, 0}, []byte{5, 6}}, // CBR with 2 bytes of padding
	} {
		toc, err := parseTOC(tc.p)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := firstFrame(tc.p, toc)
		if !ok || string(got) != string(tc.want) {
			t.Errorf("%x: %x %v, want %x", tc.p, got, ok, tc.want)
		}
	}
	if _, ok := firstFrame([]byte{2, 200, 1}, opusTOC{frames: 2}); ok {
		t.Error("a frame longer than the packet was accepted")
	}
}

// encodeTone encodes seconds of a hz tone (a new random frequency every
// frame when hz is 0) and returns the packets and the input.
func encodeTone(t testing.TB, f Format, o OpusOptions, hz float64, seconds float64) ([][]byte, []float32) {
	t.Helper()
	enc, err := NewEncoder(f, o)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	var packets [][]byte
	var all []float32
	pcm := make([]float32, f.FrameLen())
	buf := make([]byte, MaxPacket)
	phase := 0.0
	for i := 0; i < int(seconds*1000)/f.FrameMs; i++ {
		fr := hz
		if fr == 0 {
			fr = 300 + 1200*rng.Float64()
		}
		for k := 0; k < len(pcm); k += f.Channels {
			for c := 0; c < f.Channels; c++ {
				pcm[k+c] = float32(0.5 * math.Sin(phase))
			}
			phase += 2 * math.Pi * fr / float64(f.SampleRate)
		}
		n, err := enc.Encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		packets = append(packets, append([]byte(nil), buf[:n]...))
		all = append(all, pcm...)
	}
	return packets, all
}

// fecOptions make libopus put FEC in every packet (hybrid mode).
func fecOptions() OpusOptions {
	return OpusOptions{Bitrate: 32000, Complexity: 5, Application: "audio", FEC: true, ExpectedLoss: 10}
}

func TestDecoderFrameSizesAndChannels(t *testing.T) {
	for _, ms := range FrameDurations {
		for _, outCh := range []int{1, 2} {
			packets, _ := encodeTone(t, Format{48000, 1, ms}, fecOptions(), 440, 1)
			dec, err := NewDecoder(Format{SampleRate: 48000, Channels: outCh})
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]float32, dec.BufferLen())
			var out []float32
			for _, p := range packets {
				n, err := dec.Decode(p, buf)
				if err != nil {
					t.Fatal(err)
				}
				if want, _ := PacketSamples(p); n != want {
					t.Fatalf("%d ms: decoded %d samples, packet says %d", ms, n, want)
				}
				out = append(out, buf[:n*outCh]...)
			}
			left := channel(out, outCh, 0)
			if outCh == 2 && !equal(left, channel(out, 2, 1)) {
				t.Errorf("%d ms: stereo channels of a mono stream differ", ms)
			}
			if f := dsp.DominantFrequency(left[4800:], 48000); math.Abs(f-440) > 1 {
				t.Errorf("%d ms, %d ch: %.2f Hz, want 440", ms, outCh, f)
			}
		}
	}
	if _, err := NewDecoder(Format{SampleRate: 44100, Channels: 1}); err == nil {
		t.Error("44100 Hz decoder accepted")
	}
}

// packetHasFEC must agree with libopus: where it finds no LBRR data,
// libopus's FEC decode is exactly its PLC; where it finds some, not.
func TestPacketHasFECAgreesWithLibopus(t *testing.T) {
	for _, tc := range []struct {
		name    string
		o       OpusOptions
		minFEC  float64
		maxFEC  float64
		celtAll bool
	}{
		{"hybrid with FEC", fecOptions(), 0.9, 1, false},
		{"voip at 5 % loss", OpusOptions{Bitrate: 32000, Complexity: 5, Application: "voip", FEC: true, ExpectedLoss: 5}, 0, 0, false},
		{"FEC off", OpusOptions{Bitrate: 32000, Complexity: 5, Application: "voip", FEC: false, ExpectedLoss: 10}, 0, 0, false},
		{"onair defaults: CELT", OpusOptions{Bitrate: 32000, Complexity: 5, Application: "audio", FEC: true, ExpectedLoss: 5}, 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			packets, _ := encodeTone(t, mono48(), tc.o, 0, 1)
			withFEC := 0
			for _, p := range packets {
				if packetHasFEC(p) {
					withFEC++
				}
				if toc, _ := parseTOC(p); (toc.mode == modeCELT) != tc.celtAll {
					t.Fatalf("packet mode %d, CELT expected: %v", toc.mode, tc.celtAll)
				}
			}
			share := float64(withFEC) / float64(len(packets))
			if share < tc.minFEC || share > tc.maxFEC {
				t.Errorf("%.0f %% of packets carry FEC, want %.0f … %.0f %%", 100*share, 100*tc.minFEC, 100*tc.maxFEC)
			}
			for k := 5; k < len(packets); k += 7 {
				fec, plc := make([]float32, 960), make([]float32, 960)
				a, b := rawDecoder(t, packets[:k-1]), rawDecoder(t, packets[:k-1])
				if err := a.DecodeFECFloat32(packets[k], fec); err != nil {
					t.Fatal(err)
				}
				if err := b.DecodePLCFloat32(plc); err != nil {
					t.Fatal(err)
				}
				if same := equal(fec, plc); same == packetHasFEC(packets[k]) {
					t.Errorf("packet %d: packetHasFEC %v, but libopus FEC and PLC equal: %v", k, packetHasFEC(packets[k]), same)
				}
			}
		})
	}
}

func rawDecoder(t *testing.T, packets [][]byte) *opus.Decoder {
	d, err := opus.NewDecoder(48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 5760)
	for _, p := range packets {
		if _, err := d.DecodeFloat32(p, buf); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// A lost frame recovered from the next packet's FEC is much closer to the
// original than concealment, on a signal PLC cannot predict.
func TestDecoderFECBeatsPLC(t *testing.T) {
	packets, _ := encodeTone(t, mono48(), fecOptions(), 0, 2)
	ref := decodeAll(t, packets, nil, false)
	lost := map[int]bool{}
	for k := 10; k < len(packets)-1; k += 10 {
		lost[k] = true
	}
	withFEC := decodeAll(t, packets, lost, true)
	withPLC := decodeAll(t, packets, lost, false)
	snr := func(x []float32) float64 {
		var sig, noise float64
		for k := range lost {
			for i := k * 960; i < (k+1)*960; i++ {
				sig += float64(ref[i]) * float64(ref[i])
				d := float64(x[i] - ref[i])
				noise += d * d
			}
		}
		return 10 * math.Log10(sig/noise)
	}
	sf, sp := snr(withFEC), snr(withPLC)
	t.Logf("lost frames against the loss-free decode: FEC %.1f dB SNR, PLC %.1f dB", sf, sp)
	if sf < sp+6 {
		t.Errorf("FEC %.1f dB is not clearly better than PLC %.1f dB", sf, sp)
	}
}

// decodeAll decodes packets, treating those in lost as missing: concealed,
// or recovered from the next packet with useFEC.
func decodeAll(t *testing.T, packets [][]byte, lost map[int]bool, useFEC bool) []float32 {
	t.Helper()
	dec, err := NewDecoder(mono48())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, dec.BufferLen())
	var out []float32
	recovered := 0
	for k, p := range packets {
		if lost[k] {
			pcm := make([]float32, 960)
			if useFEC {
				ok, err := dec.DecodeFEC(packets[k+1], pcm)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					recovered++
				}
			} else if err := dec.Conceal(pcm); err != nil {
				t.Fatal(err)
			}
			out = append(out, pcm...)
			continue
		}
		n, err := dec.Decode(p, buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, buf[:n]...)
	}
	if useFEC && recovered != len(lost) {
		t.Errorf("FEC used for %d of %d lost frames", recovered, len(lost))
	}
	return out
}

// DecodeFEC falls back to PLC, and says so, for a CELT packet or a
// stretch shorter than the next packet's frames.
func TestDecoderFECFallsBack(t *testing.T) {
	celt, _ := encodeTone(t, mono48(), OpusOptions{Bitrate: 64000, Complexity: 5, Application: "audio", FEC: true, ExpectedLoss: 5}, 440, 0.2)
	hybrid, _ := encodeTone(t, mono48(), fecOptions(), 440, 0.2)
	dec, _ := NewDecoder(mono48())
	buf := make([]float32, dec.BufferLen())
	for _, tc := range []struct {
		name string
		next []byte
		n    int
	}{
		{"CELT", celt[5], 960},
		{"shorter than a frame", hybrid[5], 480},
	} {
		if _, err := dec.Decode(hybrid[3], buf); err != nil {
			t.Fatal(err)
		}
		if ok, err := dec.DecodeFEC(tc.next, make([]float32, tc.n)); ok || err != nil {
			t.Errorf("%s: FEC used %v, err %v; want PLC", tc.name, ok, err)
		}
	}
	if _, err := dec.Decode([]byte{}, buf); !errors.Is(err, ErrBadPacket) {
		t.Errorf("empty packet: %v", err)
	}
}
