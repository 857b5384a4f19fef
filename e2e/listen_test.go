package e2e

import (
	"math"
	"syscall"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/alsatest"
	"github.com/onair-dev/onair/internal/dsp"
	"github.com/onair-dev/onair/internal/nettest"
	"github.com/onair-dev/onair/relay"
	"github.com/onair-dev/onair/uplink"
)

// listen starts `onair listen` of channel on the relay, playing on ALSA's
// default output (the file device of env).
func listen(t *testing.T, tr *testRelay, channel string, env ...string) (*syncBuffer, func()) {
	t.Helper()
	env = append(env, "ONAIR_UPLINK_RETRY_MIN=100ms", "ONAIR_UPLINK_RETRY_MAX=500ms")
	cmd, out, done := startOnair(t, env, "listen", "--url", tr.URL+"/whep/{channel}", "--channel", channel, "--uid", "ear")
	stop := func() {
		t.Helper()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("onair listen exited with %v\n%s", err, out.String())
			}
		case <-time.After(10 * time.Second):
			t.Errorf("onair listen did not exit after SIGTERM\n%s", out.String())
		}
	}
	return out, stop
}

// playedAudio reads what the ALSA file output received and returns it
// from the first sound on.
func playedAudio(t *testing.T, path string) []float32 {
	t.Helper()
	pcm, err := alsatest.ReadS16LE(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range pcm {
		if math.Abs(float64(v)) > 0.01 {
			return pcm[i:]
		}
	}
	t.Fatalf("the output holds %d samples and no sound", len(pcm))
	return nil
}

// longestGap returns the longest run of near-silent samples (|x| < 1e-3,
// −60 dBFS) in pcm, as a duration at 48 kHz.
func longestGap(pcm []float32) time.Duration {
	longest, run := 0, 0
	for _, v := range pcm {
		if math.Abs(float64(v)) < 1e-3 {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return time.Duration(longest) * time.Second / 48000
}

// toneShare returns the share of pcm's power carried by a tone at hz,
// measured in 100 ms blocks so that phase jumps (concealment, drift
// correction) do not cancel it out.
func toneShare(pcm []float32, hz float64) float64 {
	const block = 4800
	var tone, total float64
	for i := 0; i+block <= len(pcm); i += block {
		b := pcm[i : i+block]
		tone += dsp.TonePower(b, 48000, hz)
		for _, v := range b {
			total += float64(v) * float64(v) / block
		}
	}
	return tone / total
}

// checkPlayed asserts that 10 s of the output, after start-up, hold the
// tones without a gap over 60 ms.
func checkPlayed(t *testing.T, path string, tones ...float64) {
	t.Helper()
	pcm := playedAudio(t, path)
	const span = 10 * 48000
	if len(pcm) < span+48000/2 {
		t.Fatalf("the output holds %.1f s of sound, want more than 10.5 s", float64(len(pcm))/48000)
	}
	pcm = pcm[48000/2 : 48000/2+span]
	gap := longestGap(pcm)
	t.Logf("output: %.1f s of sound; longest gap in the 10 s checked: %s", float64(len(playedAudio(t, path)))/48000, gap)
	if gap > 60*time.Millisecond {
		t.Errorf("longest gap in 10 s of output: %s, want ≤ 60 ms", gap)
	}
	if len(tones) == 1 {
		got := dsp.DominantFrequency(pcm, 48000)
		t.Logf("dominant frequency %.2f Hz", got)
		if math.Abs(got-tones[0]) > 2 {
			t.Errorf("dominant frequency of the output %.2f Hz, want %.0f ± 2", got, tones[0])
		}
		return
	}
	for _, hz := range tones {
		share := toneShare(pcm, hz)
		t.Logf("%.0f Hz carries %.0f%% of the power", hz, 100*share)
		if share < 0.1 {
			t.Errorf("the %.0f Hz tone carries %.0f%% of the output's power, want at least 10%%", hz, 100*share)
		}
	}
}

// loopbackRelayConfig is an anonymous relay on loopback, losing media
// packets through n when it is not nil.
func loopbackRelayConfig(n *nettest.LossyNet) relay.Config {
	netcfg := uplink.NetworkConfig{Interfaces: []string{"lo"}, Loopback: true}
	if n != nil {
		netcfg.Net = n
	}
	return relay.Config{AllowAnonymous: true, Network: netcfg, DisconnectTimeout: time.Second}
}

func loopbackRelay(t *testing.T, n *nettest.LossyNet) *testRelay {
	return startRelayConfig(t, "127.0.0.1:0", loopbackRelayConfig(n))
}

// TestListenPlaysHost: host 440 Hz (ALSA capture) → relay → `onair listen`
// → ALSA file output: 10 s of 440 Hz without a gap over 60 ms.
func TestListenPlaysHost(t *testing.T) {
	// Serial: the output is checked for real-time gaps, which other
	// tests running beside it on 2 cores can cause.
	alsa := alsatest.Setup(t, "", alsatest.Options{Signal: alsatest.Signal{Hz: 440, Seconds: 60}})
	env := "ALSA_CONFIG_PATH=" + alsa.ConfigPath
	tr := loopbackRelay(t, nil)
	publish(t, tr, "room", "mic", "default", env)
	tr.waitHosts(t, "room", 15*time.Second, "mic")
	out, stop := listen(t, tr, "room", env)
	time.Sleep(12 * time.Second)
	stop()
	if t.Failed() {
		t.Log(out.String())
	}
	checkPlayed(t, alsa.OutPath, 440)
}

// TestListenThroughLoss: 10 % of the relay's media packets are lost on the
// way to the listener; FEC and concealment keep the output continuous and
// the tone there.
func TestListenThroughLoss(t *testing.T) {
	// Serial: the output is checked for real-time gaps, which other
	// tests running beside it on 2 cores can cause.
	alsa := alsatest.Setup(t, "", alsatest.Options{Signal: alsatest.Signal{Hz: 440, Seconds: 60}})
	env := "ALSA_CONFIG_PATH=" + alsa.ConfigPath
	lossy, err := nettest.NewLossyNet(0.10, 42)
	if err != nil {
		t.Fatal(err)
	}
	tr := loopbackRelay(t, lossy)
	publish(t, tr, "lossy", "mic", "default", env)
	tr.waitHosts(t, "lossy", 15*time.Second, "mic")
	out, stop := listen(t, tr, "lossy", env)
	time.Sleep(12 * time.Second)
	stop()
	dropped, sent := lossy.Counts()
	t.Logf("relay dropped %d of %d media packets (%.1f%%)", dropped, dropped+sent, 100*float64(dropped)/float64(dropped+sent))
	if dropped < 50 {
		t.Errorf("only %d packets dropped: the loss was not injected", dropped)
	}
	if t.Failed() {
		t.Log(out.String())
	}
	checkPlayed(t, alsa.OutPath, 440)
}

// TestListenTwoHosts: hosts at 440 Hz (ALSA) and 660 Hz (tone) → the
// listener's output holds both.
func TestListenTwoHosts(t *testing.T) {
	// Serial: the output is checked for real-time gaps, which other
	// tests running beside it on 2 cores can cause.
	alsa := alsatest.Setup(t, "", alsatest.Options{Signal: alsatest.Signal{Hz: 440, Seconds: 60}})
	env := "ALSA_CONFIG_PATH=" + alsa.ConfigPath
	tr := loopbackRelay(t, nil)
	publish(t, tr, "duo", "a", "default", env)
	publish(t, tr, "duo", "b", "tone:660", env)
	tr.waitHosts(t, "duo", 15*time.Second, "a", "b")
	out, stop := listen(t, tr, "duo", env)
	time.Sleep(12 * time.Second)
	stop()
	if t.Failed() {
		t.Log(out.String())
	}
	checkPlayed(t, alsa.OutPath, 440, 660)
}
