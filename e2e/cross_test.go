package e2e

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/alsatest"
	"github.com/onair-dev/onair/internal/dsp"
	"github.com/onair-dev/onair/internal/whiptest"
)

// crossVersion is stamped into the cross binaries the tests build.
const crossVersion = "cross-test"

// crossTarget is a board architecture: its Debian name, Go's settings, the
// cgo cross toolchain and the qemu-user emulator that runs its binaries.
type crossTarget struct {
	deb    string // Debian architecture
	goarch string
	goarm  string
	triple string // GNU triplet: <triple>-gcc, <triple>-pkg-config
	qemu   string
}

var crossTargets = []crossTarget{
	{deb: "arm64", goarch: "arm64", triple: "aarch64-linux-gnu", qemu: "qemu-aarch64-static"},
	{deb: "armhf", goarch: "arm", goarm: "7", triple: "arm-linux-gnueabihf", qemu: "qemu-arm-static"},
}

// missing lists what the target needs and this machine lacks.
func (c crossTarget) missing() []string {
	var m []string
	for _, tool := range []string{c.triple + "-gcc", c.triple + "-pkg-config", c.qemu} {
		if _, err := exec.LookPath(tool); err != nil {
			m = append(m, tool)
		}
	}
	for _, pc := range []string{"opus", "portaudio-2.0", "alsa"} {
		if _, err := os.Stat(filepath.Join("/usr/lib", c.triple, "pkgconfig", pc+".pc")); err != nil {
			m = append(m, pc+".pc for "+c.deb)
		}
	}
	return m
}

// available reports whether the target can be built and run here.
func (c crossTarget) available() bool { return len(c.missing()) == 0 }

// require skips the test where the target's toolchain is missing, unless
// CI is set: there scripts/cross-deps.sh must have installed it.
func (c crossTarget) require(t *testing.T) {
	t.Helper()
	m := c.missing()
	if len(m) == 0 {
		return
	}
	msg := fmt.Sprintf("%s cross build needs %s (run scripts/cross-deps.sh)", c.deb, strings.Join(m, ", "))
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg + "; skipped because CI is unset")
}

// crossBuild is one target's binary, built once per test run.
type crossBuild struct {
	once sync.Once
	path string
	err  error
}

var crossBuilds = map[string]*crossBuild{"arm64": {}, "armhf": {}}

// binary builds the target's onair as `make cross` does and returns its
// path (next to onairBin, removed by TestMain); later calls reuse it.
func (c crossTarget) binary(t *testing.T) string {
	t.Helper()
	b := crossBuilds[c.deb]
	b.once.Do(func() {
		b.path = filepath.Join(filepath.Dir(onairBin), "onair-linux-"+c.deb)
		start := time.Now()
		cmd := exec.Command("go", "build", "-tags", "nolibopusfile", "-trimpath",
			"-ldflags", "-s -w -X main.Version="+crossVersion, "-o", b.path, "../cmd/onair")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOOS=linux", "GOARCH="+c.goarch,
			"CC="+c.triple+"-gcc", "PKG_CONFIG="+c.triple+"-pkg-config")
		if c.goarm != "" {
			cmd.Env = append(cmd.Env, "GOARM="+c.goarm)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("cross build %s: %w\n%s", c.deb, err, out)
			return
		}
		t.Logf("built %s in %s", b.path, time.Since(start).Round(time.Second))
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// writeToneWAV writes seconds of a hz sine as a 48 kHz mono 16-bit WAV.
func writeToneWAV(t *testing.T, path string, hz, seconds float64) {
	t.Helper()
	samples := alsatest.Sine(alsatest.Signal{Hz: hz, Seconds: seconds})
	data := make([]byte, 44+2*len(samples))
	le := binary.LittleEndian
	copy(data[0:], "RIFF")
	le.PutUint32(data[4:], uint32(36+2*len(samples)))
	copy(data[8:], "WAVEfmt ")
	le.PutUint32(data[16:], 16)      // fmt chunk size
	le.PutUint16(data[20:], 1)       // PCM
	le.PutUint16(data[22:], 1)       // channels
	le.PutUint32(data[24:], 48000)   // sample rate
	le.PutUint32(data[28:], 48000*2) // byte rate
	le.PutUint16(data[32:], 2)       // block align
	le.PutUint16(data[34:], 16)      // bits per sample
	copy(data[36:], "data")
	le.PutUint32(data[40:], uint32(2*len(samples)))
	for i, v := range samples {
		le.PutUint16(data[44+2*i:], uint16(v))
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCrossBuildsRunUnderQEMU: the arm64 and armhf binaries, run under
// qemu-user, print their version and publish a 440 Hz tone from a WAV
// file to a WHIP receiver on loopback, which decodes it: the cross builds
// work, not only link. qemu is about 20× slower than native, hence the
// generous timeouts; a process under qemu ignores SIGTERM, so it is killed.
func TestCrossBuildsRunUnderQEMU(t *testing.T) {
	t.Parallel()
	const tone = 440.0
	wav := filepath.Join(t.TempDir(), "tone.wav")
	writeToneWAV(t, wav, tone, 10)
	for _, c := range crossTargets {
		t.Run(c.deb, func(t *testing.T) {
			c.require(t)
			bin := c.binary(t)

			out, err := exec.Command("timeout", "-s", "KILL", "60", c.qemu, bin, "version").CombinedOutput()
			if err != nil || !strings.Contains(string(out), crossVersion) {
				t.Fatalf("%s %s version: %v\n%s", c.qemu, bin, err, out)
			}

			srv, err := whiptest.New(whiptest.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			cmd := exec.Command(c.qemu, bin, "publish", "--url", srv.Endpoint()+"/{channel}",
				"--channel", "cross", "--uid", c.deb, "--input", "file:"+wav)
			cmd.Env = append(os.Environ(), loopbackEnv...)
			log := &syncBuffer{}
			cmd.Stdout, cmd.Stderr = log, log
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}()

			// 3 s of audio: 150 packets of 20 ms.
			start := time.Now()
			if err := srv.WaitPackets(150, 60*time.Second); err != nil {
				t.Fatalf("%v\nonair (%s) output:\n%s", err, c.deb, log.String())
			}
			t.Logf("150 packets %s after start under %s", time.Since(start).Round(100*time.Millisecond), c.qemu)

			pcm := srv.PCM()
			if len(pcm) < 2*48000+48000/10 {
				t.Fatalf("decoded %d samples, want at least 2 s", len(pcm))
			}
			pcm = pcm[48000/10:] // skip the decoder's start
			if got := dsp.DominantFrequency(pcm, 48000); got < tone-2 || got > tone+2 {
				t.Errorf("dominant frequency %.2f Hz over %.1f s, want %.0f ± 2 Hz",
					got, float64(len(pcm))/48000, tone)
			}
		})
	}
}
