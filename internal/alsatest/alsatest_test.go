package alsatest

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFollowsTheRecipe(t *testing.T) {
	dir := t.TempDir()
	env := Setup(t, dir, Options{Extra: map[string]Signal{"mic44": {Rate: 44100, Hz: 440, Seconds: 2}}})
	conf, err := os.ReadFile(env.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	in, out, mic := filepath.Join(dir, "in.raw"), filepath.Join(dir, "out.raw"), filepath.Join(dir, "mic44.raw")
	want := strings.Join([]string{
		`pcm.null { type null }`,
		`pcm.capfile  { type file slave.pcm "null" file "/dev/null" infile "` + in + `" format "raw" }`,
		`pcm.cap      { type plug slave { pcm "capfile" format S16_LE rate 48000 channels 1 } }`,
		`pcm.playfile { type file slave.pcm "null" file "` + out + `" format "raw" }`,
		`pcm.play     { type plug slave { pcm "playfile" format S16_LE rate 48000 channels 1 } }`,
		`pcm.!default { type asym capture.pcm "cap" playback.pcm "play" }`,
		`pcm.mic44file { type file slave.pcm "null" file "/dev/null" infile "` + mic + `" format "raw" }`,
		`pcm.mic44 { type plug slave { pcm "mic44file" format S16_LE rate 44100 channels 1 } }`,
	}, "\n") + "\n"
	if string(conf) != want {
		t.Errorf("config:\n%s\nwant:\n%s", conf, want)
	}
	if env.InPath != in || env.OutPath != out || env.Inputs["cap"] != in || env.Inputs["mic44"] != mic {
		t.Errorf("paths %+v", env)
	}
	if st, err := os.Stat(mic); err != nil || st.Size() != 2*2*44100 {
		t.Errorf("mic44.raw: %v, want 2 s of 16-bit samples at 44100 Hz", err)
	}
}

func TestSineRoundTrip(t *testing.T) {
	sig := Signal{Hz: 1000, Amplitude: 0.5, Seconds: 1}
	path := filepath.Join(t.TempDir(), "s.raw")
	if err := WriteSine(path, sig); err != nil {
		t.Fatal(err)
	}
	got, err := ReadS16LE(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 48000 {
		t.Fatalf("%d samples, want 48000", len(got))
	}
	// At 1 kHz and 48 kHz, sample 12 is the first peak: round(0.5·32767).
	if got[0] != 0 || got[12] != 16384.0/32768 || got[36] != -16384.0/32768 {
		t.Errorf("samples 0, 12, 36 = %g, %g, %g; want 0, 0.5, -0.5", got[0], got[12], got[36])
	}
	var sum float64
	for _, v := range got {
		sum += float64(v) * float64(v)
	}
	if rms := math.Sqrt(sum / float64(len(got))); math.Abs(rms-sig.RMS()) > 1e-5 {
		t.Errorf("RMS %g, want %g", rms, sig.RMS())
	}
}

func TestWriteRejects(t *testing.T) {
	dir := t.TempDir()
	for name, opts := range map[string]Options{
		"main rate":  {Signal: Signal{Rate: 44100}},
		"bad name":   {Extra: map[string]Signal{"a b": {}}},
		"taken name": {Extra: map[string]Signal{"cap": {}}},
	} {
		if _, err := Write(dir, opts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	odd := filepath.Join(dir, "odd.raw")
	if err := os.WriteFile(odd, []byte{1, 2, 3}, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadS16LE(odd); err == nil {
		t.Error("odd-length file: no error")
	}
}
