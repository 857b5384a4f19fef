package e2e

// Channel page tests: browsers join a channel on the relay's channel page
// (/channel/{name}), hosts publish Chromium's fake microphone (a WAV file
// made with sox, one browser process per file) over WHIP, and everyone
// joined hears the other hosts over WHEP. Assertions read the page's test
// hook, window.onairChannel.

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onair-dev/onair/token"
)

// channelURL is the channel page of channel with the query (may be "").
func (tr *testRelay) channelURL(channel, query string) string {
	return tr.URL + "/channel/" + url.PathEscape(channel) + query
}

// toneWAV writes a 60 s sine of hz at half scale, 48 kHz mono, with sox.
func toneWAV(t *testing.T, hz float64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), fmt.Sprintf("tone-%g.wav", hz))
	out, err := exec.Command("sox", "-n", "-r", "48000", "-c", "1", "-b", "16", p, "synth", "60", "sine", fmt.Sprint(hz), "vol", "0.5").CombinedOutput()
	if err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	return p
}

// screenshotDir is $ONAIR_SCREENSHOTS, or a temporary directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("ONAIR_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// joinChannel presses Join, for a host after turning the audio processing
// off (it would treat a steady tone as noise); it waits until the page
// listens and, for a host, publishes.
func joinChannel(b *browser, host bool) {
	b.t.Helper()
	want := "onairChannel.listenState === 'connected'"
	if host {
		for _, id := range []string{"echoCancellation", "noiseSuppression", "autoGainControl"} {
			b.click("#" + id)
		}
		want += " && onairChannel.publishState === 'connected'"
	}
	b.click("#join")
	b.wait(want, 20*time.Second)
}

// viewsExpr is a page expression true once the page shows exactly the
// remote hosts uids.
func viewsExpr(uids ...string) string {
	return fmt.Sprintf("JSON.stringify(onairChannel.views.map(v => v.uid).sort()) === %q", mustJSON(uids))
}

func mustJSON(uids []string) string {
	q := make([]string, len(uids))
	for i, u := range uids {
		q[i] = fmt.Sprintf("%q", u)
	}
	return "[" + strings.Join(q, ",") + "]"
}

// hearsHostExpr is a page expression true once the view of uid plays hz.
func hearsHostExpr(uid string, hz float64) string {
	return fmt.Sprintf("Math.abs(onairChannel.dominantHz(%q) - %g) <= %g", uid, hz, hzTolerance)
}

// TestChannelPageHostsHearEachOther: on a relay with tokens, two Chromium
// hosts (fake microphones at 500 and 700 Hz) and one audience join a
// channel on the channel page. Each host shows one remote view, the other
// host's, which plays the other's tone, and its own slot stays silent; the
// audience shows and hears both. UNPUBLISH on the 700 Hz host removes its
// view on the other pages while it stays joined and still hears the 500 Hz
// host; PUBLISH brings the view and the tone back. LEAVE ends the page's
// sessions on the relay.
func TestChannelPageHostsHearEachOther(t *testing.T) {
	requireBrowser(t)
	const ch = "channel page"
	const secret = "channel-page-test-secret-0123456789"
	tr := startRelay(t, "127.0.0.1:0", secret)
	open := func(uid string, role token.Role, args ...string) *browser {
		return startDriver(t, "channel.mjs", tr.channelURL(ch, "?token="+url.QueryEscape(mint(t, secret, ch, uid, role))), args...)
	}
	alice := open("alice", token.RoleHost, "--mic", toneWAV(t, 500))
	bob := open("bob", token.RoleHost, "--mic", toneWAV(t, 700))
	carol := open("carol", token.RoleAudience)

	joinChannel(alice, true)
	joinChannel(bob, true)
	joinChannel(carol, false)
	slots := tr.waitHosts(t, ch, 10*time.Second, "alice", "bob")

	alice.wait(viewsExpr("bob")+" && "+hearsHostExpr("bob", 700), 20*time.Second)
	bob.wait(viewsExpr("alice")+" && "+hearsHostExpr("alice", 500), 20*time.Second)
	carol.wait(viewsExpr("alice", "bob")+" && "+hearsHostExpr("alice", 500)+" && "+hearsHostExpr("bob", 700), 20*time.Second)
	for _, c := range []struct {
		b     *browser
		own   string
		other string
		hz    float64
	}{{alice, "alice", "bob", 700}, {bob, "bob", "alice", 500}} {
		if f := c.b.number(fmt.Sprintf("onairChannel.dominantHz(%q)", c.other)); !(f > c.hz-hzTolerance && f < c.hz+hzTolerance) {
			t.Errorf("%s hears %s at %.2f Hz, want %g", c.own, c.other, f, c.hz)
		}
		if r := c.b.number(fmt.Sprintf("onairChannel.slotRms(%d)", slots[c.own])); r >= silenceRMS {
			t.Errorf("%s's own slot %d plays at RMS %.4f: it hears itself", c.own, slots[c.own], r)
		}
	}
	var status struct{ Kind, Text string }
	alice.eval("onairChannel.status", &status)
	t.Logf("alice: %s (%s)", status.Text, status.Kind)
	if status.Kind != "live" || !strings.Contains(status.Text, "On air") {
		t.Errorf("alice's status %+v, want on air", status)
	}

	dir := screenshotDir(t)
	alice.screenshot(filepath.Join(dir, "channel-desktop.png"), 1280, 800, "light")
	alice.screenshot(filepath.Join(dir, "channel-mobile.png"), 390, 844, "light")
	carol.screenshot(filepath.Join(dir, "channel-audience-mobile.png"), 390, 844, "dark")

	bob.click("#unpublish")
	unpublished := time.Now()
	alice.wait(viewsExpr(), 10*time.Second)
	carol.wait(viewsExpr("alice"), 10*time.Second)
	t.Logf("bob's view left the other pages %s after UNPUBLISH", time.Since(unpublished).Round(time.Millisecond))
	tr.waitHosts(t, ch, 5*time.Second, "alice")
	bob.wait("onairChannel.joined && onairChannel.publishState === 'idle' && "+viewsExpr("alice")+" && "+hearsHostExpr("alice", 500), 10*time.Second)
	bob.wait("!document.getElementById('publish').disabled && document.getElementById('unpublish').disabled", 5*time.Second)

	bob.click("#publish")
	published := time.Now()
	bob.wait("onairChannel.publishState === 'connected'", 20*time.Second)
	alice.wait(viewsExpr("bob")+" && "+hearsHostExpr("bob", 700), 20*time.Second)
	carol.wait(viewsExpr("alice", "bob")+" && "+hearsHostExpr("bob", 700), 20*time.Second)
	t.Logf("bob heard again %s after PUBLISH", time.Since(published).Round(time.Millisecond))

	alice.click("#leave")
	alice.wait("!onairChannel.joined && onairChannel.views.length === 0 && !document.getElementById('join').disabled", 5*time.Second)
	tr.waitHosts(t, ch, 5*time.Second, "bob")
	bob.wait(viewsExpr(), 10*time.Second)
}

// TestChannelPageRefusesTokens: the channel page says in plain words why
// it cannot join: no token, an expired token, a token of another relay
// (bad signature), a token of another channel, and an audience token with
// the host role; the relay's status codes and error chains never show.
// Loaded from a host name that is not loopback over plain HTTP, the page
// says that the microphone needs HTTPS, and joins as audience.
func TestChannelPageRefusesTokens(t *testing.T) {
	requireBrowser(t)
	const ch = "refusals"
	const secret = "channel-page-test-secret-0123456789"
	tr := startRelay(t, "127.0.0.1:0", secret)
	expired, err := token.Mint([]byte(secret), token.Claims{Channel: ch, UID: "late", Role: token.RoleHost, IssuedAt: time.Now().Add(-2 * time.Hour)}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b := startDriver(t, "channel.mjs", tr.channelURL(ch, ""))
	for _, c := range []struct {
		name, token, role, want string
	}{
		{"no token", "", "host", "This channel needs a token."},
		{"expired", expired, "host", "This token expired at"},
		{"bad signature", mint(t, "another-relay-secret-0123456789", ch, "mallory", token.RoleHost), "host", "signed for another relay"},
		{"wrong channel", mint(t, secret, "elsewhere", "eve", token.RoleHost), "audience", "This token is for the channel “elsewhere”, not “refusals”."},
		{"audience token as host", mint(t, secret, ch, "dave", token.RoleAudience), "host", "This token lets you listen only; ask for a host token."},
	} {
		b.open(tr.channelURL(ch, "?token="+url.QueryEscape(c.token)))
		b.click("#role-" + c.role)
		b.click("#join")
		b.wait("onairChannel.status.kind === 'error' && !onairChannel.joined", 10*time.Second)
		var status struct{ Kind, Text string }
		b.eval("onairChannel.status", &status)
		t.Logf("%s: %q", c.name, status.Text)
		if !strings.Contains(status.Text, c.want) {
			t.Errorf("%s: status %q, want it to say %q", c.name, status.Text, c.want)
		}
		for _, raw := range []string{"401", "403", "unauthorized", "forbidden", "POST", "Error"} {
			if strings.Contains(status.Text, raw) {
				t.Errorf("%s: status %q shows %q", c.name, status.Text, raw)
			}
		}
	}
	if info, err := tr.channel(ch); err == nil {
		t.Errorf("the relay holds sessions after refusals: %+v", info)
	}

	const alias = "relay.test"
	insecure := strings.Replace(tr.channelURL(ch, "?token="+url.QueryEscape(mint(t, secret, ch, "erin", token.RoleHost))), "127.0.0.1", alias, 1)
	ib := startDriver(t, "channel.mjs", insecure, "--alias", alias)
	ib.wait("!window.isSecureContext && document.getElementById('role-audience').checked", 5*time.Second)
	ib.click("#role-host")
	ib.wait("!document.getElementById('insecure').hidden", 5*time.Second)
	ib.click("#join")
	ib.wait("onairChannel.status.kind === 'error' && onairChannel.status.text.includes('HTTPS') && !onairChannel.joined", 5*time.Second)
	// Listening needs no secure origin: the page subscribes. (Its ICE does
	// not connect here: Chrome offers loopback candidates only to an origin
	// that holds a media permission, which an insecure one cannot.)
	ib.click("#role-audience")
	ib.click("#join")
	ib.wait("onairChannel.joined && onairChannel.sessions >= 1", 10*time.Second)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		info, err := tr.channel(ch)
		if err == nil && info.Audience == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audience session of the insecure page: %+v, %v", info, err)
		}
	}
	ib.click("#leave")
	ib.wait("!onairChannel.joined", 5*time.Second)
}
