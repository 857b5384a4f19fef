// Package alsatest builds a real ALSA capture and playback device out of
// files, for tests on machines without a sound card (see "Real ALSA capture"
// in shared/RECIPES.md). Point ALSA_CONFIG_PATH at Env.ConfigPath before the
// process first initialises PortAudio or ALSA: ALSA reads its configuration
// once per process.
//
// The capture device reads a raw S16_LE mono sine written here; the playback
// device writes what it is given to Env.OutPath. The file devices have no
// clock: reads return as fast as they are made, and once the input file runs
// out ALSA repeats its last buffer, so make the input longer than the test.
package alsatest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Signal is a sine written as raw S16_LE mono. Zero fields take the defaults.
type Signal struct {
	Hz        float64 // tone frequency; default 1000
	Amplitude float64 // peak, 1 is full scale; default 0.5 (about -9 dBFS RMS)
	Seconds   float64 // length; default 30
	Rate      int     // sample rate; default 48000
}

// withDefaults returns s with its zero fields set to the defaults.
func (s Signal) withDefaults() Signal {
	if s.Hz == 0 {
		s.Hz = 1000
	}
	if s.Amplitude == 0 {
		s.Amplitude = 0.5
	}
	if s.Seconds == 0 {
		s.Seconds = 30
	}
	if s.Rate == 0 {
		s.Rate = 48000
	}
	return s
}

// RMS returns the RMS the signal's samples have as float32 in [-1, 1].
func (s Signal) RMS() float64 { return s.withDefaults().Amplitude * 32767 / 32768 / math.Sqrt2 }

// Options configures Write. The main signal feeds the PCMs "cap" and
// "default" (capture side); it must be at 48000 Hz, as in the recipe.
type Options struct {
	Signal Signal
	// Extra adds, for each name, a capture PCM "<name>" (a plug whose slave
	// runs at the signal's rate, so PortAudio sees a device that captures at
	// that rate only) reading "<name>.raw".
	Extra map[string]Signal
	// NoCapture writes a board without a microphone: the playback PCMs
	// "play" and "default" only, neither of which captures, so PortAudio
	// lists no input device at all. Signal and Extra are ignored.
	NoCapture bool
}

// Env is a written configuration.
type Env struct {
	ConfigPath string            // set ALSA_CONFIG_PATH to this
	OutPath    string            // raw S16_LE mono written by the "play" PCM
	InPath     string            // raw S16_LE mono read by the "cap" PCM
	Inputs     map[string]string // capture PCM name -> its raw input file
}

// Setup writes the configuration and its input files into dir (t.TempDir()
// when dir is empty) and returns them; it fails t on error.
func Setup(t testing.TB, dir string, opts Options) Env {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	env, err := Write(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// Write writes the configuration and its input files into dir, which must
// exist, and returns their paths. Use it where there is no testing.TB, such
// as TestMain.
func Write(dir string, opts Options) (Env, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return Env{}, fmt.Errorf("alsatest: %w", err)
	}
	if strings.ContainsAny(dir, "\"\\\n") {
		return Env{}, fmt.Errorf("alsatest: directory %q: quotes, backslashes and newlines do not fit an ALSA config string", dir)
	}
	if opts.NoCapture {
		return writeNoCapture(dir)
	}
	sig := opts.Signal.withDefaults()
	if sig.Rate != 48000 {
		return Env{}, fmt.Errorf("alsatest: main signal rate %d: must be 48000", sig.Rate)
	}
	env := Env{
		ConfigPath: filepath.Join(dir, "asound.conf"),
		OutPath:    filepath.Join(dir, "out.raw"),
		InPath:     filepath.Join(dir, "in.raw"),
		Inputs:     map[string]string{},
	}
	if err := WriteSine(env.InPath, sig); err != nil {
		return Env{}, err
	}
	env.Inputs["cap"] = env.InPath
	env.Inputs["default"] = env.InPath

	var b strings.Builder
	fmt.Fprintf(&b, "pcm.null { type null }\n")
	fmt.Fprintf(&b, "pcm.capfile  { type file slave.pcm \"null\" file \"/dev/null\" infile \"%s\" format \"raw\" }\n", env.InPath)
	fmt.Fprintf(&b, "pcm.cap      { type plug slave { pcm \"capfile\" format S16_LE rate 48000 channels 1 } }\n")
	fmt.Fprintf(&b, "pcm.playfile { type file slave.pcm \"null\" file \"%s\" format \"raw\" }\n", env.OutPath)
	fmt.Fprintf(&b, "pcm.play     { type plug slave { pcm \"playfile\" format S16_LE rate 48000 channels 1 } }\n")
	fmt.Fprintf(&b, "pcm.!default { type asym capture.pcm \"cap\" playback.pcm \"play\" }\n")

	names := make([]string, 0, len(opts.Extra))
	for name := range opts.Extra {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !validName(name) {
			return Env{}, fmt.Errorf("alsatest: extra input %q: name must be letters, digits, _ and -", name)
		}
		if _, dup := env.Inputs[name]; dup || strings.HasPrefix(name, "play") || name == "null" || name == "capfile" {
			return Env{}, fmt.Errorf("alsatest: extra input %q: name taken", name)
		}
		s := opts.Extra[name].withDefaults()
		in := filepath.Join(dir, name+".raw")
		if err := WriteSine(in, s); err != nil {
			return Env{}, err
		}
		env.Inputs[name] = in
		fmt.Fprintf(&b, "pcm.%sfile { type file slave.pcm \"null\" file \"/dev/null\" infile \"%s\" format \"raw\" }\n", name, in)
		fmt.Fprintf(&b, "pcm.%s { type plug slave { pcm \"%sfile\" format S16_LE rate %d channels 1 } }\n", name, name, s.Rate)
	}
	if err := os.WriteFile(env.ConfigPath, []byte(b.String()), 0o644); err != nil {
		return Env{}, fmt.Errorf("alsatest: write config: %w", err)
	}
	return env, nil
}

// writeNoCapture writes the configuration of Options.NoCapture. The file
// PCM is defined inline: a named one would be listed as a capture device
// (it captures from its null slave).
func writeNoCapture(dir string) (Env, error) {
	env := Env{ConfigPath: filepath.Join(dir, "asound.conf"), OutPath: filepath.Join(dir, "out.raw"), Inputs: map[string]string{}}
	conf := "pcm.null { type null }\n" +
		"pcm.play { type asym playback.pcm { type plug slave { pcm { type file slave.pcm \"null\" file \"" + env.OutPath +
		"\" format \"raw\" } format S16_LE rate 48000 channels 1 } } }\n" +
		"pcm.!default { type asym playback.pcm \"play\" }\n"
	if err := os.WriteFile(env.ConfigPath, []byte(conf), 0o644); err != nil {
		return Env{}, fmt.Errorf("alsatest: write config: %w", err)
	}
	return env, nil
}

func validName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Sine returns the signal's samples as S16 values:
// round(Amplitude * 32767 * sin(2π Hz t)), starting at phase 0.
func Sine(s Signal) []int16 {
	s = s.withDefaults()
	n := int(math.Round(s.Seconds * float64(s.Rate)))
	out := make([]int16, n)
	for i := range out {
		v := s.Amplitude * 32767 * math.Sin(2*math.Pi*s.Hz*float64(i)/float64(s.Rate))
		out[i] = int16(math.Max(-32768, math.Min(32767, math.Round(v))))
	}
	return out
}

// WriteSine writes the signal to path as raw S16_LE mono.
func WriteSine(path string, s Signal) error {
	samples := Sine(s)
	buf := make([]byte, 2*len(samples))
	for i, v := range samples {
		binary.LittleEndian.PutUint16(buf[2*i:], uint16(v))
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return fmt.Errorf("alsatest: write sine: %w", err)
	}
	return nil
}

// ErrOddLength is returned by ReadS16LE for a file that is not whole samples.
var ErrOddLength = errors.New("odd number of bytes")

// ReadS16LE reads a raw S16_LE file as float32 samples v/32768, the scaling
// PortAudio uses, so a capture of the file compares equal sample for sample.
func ReadS16LE(path string) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("alsatest: read s16le: %w", err)
	}
	if len(b)%2 != 0 {
		return nil, fmt.Errorf("alsatest: read s16le %s: %w", path, ErrOddLength)
	}
	out := make([]float32, len(b)/2)
	for i := range out {
		out[i] = float32(int16(binary.LittleEndian.Uint16(b[2*i:]))) / 32768
	}
	return out, nil
}
