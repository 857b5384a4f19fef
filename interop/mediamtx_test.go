package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/alsatest"
)

// mediamtx is a running MediaMTX with WebRTC and its API on loopback; the
// user onair:secret may publish, read and use the API.
type mediamtx struct {
	*proc
	web, api string // base URLs
}

const mediamtxToken = "onair:secret" // MediaMTX takes "Bearer user:pass"

// startMediaMTX starts MediaMTX with a configuration in t.TempDir(): only
// WebRTC (ICE on 127.0.0.1 only) and the API, internal authentication.
func startMediaMTX(t *testing.T) *mediamtx {
	t.Helper()
	bin := serverBin(t, "mediamtx", "v1.15.3", "mediamtx")
	web, api, udp := freePort(t, "tcp"), freePort(t, "tcp"), freePort(t, "udp")
	conf := fmt.Sprintf(`logLevel: info
rtsp: false
rtmp: false
hls: false
srt: false
api: true
apiAddress: 127.0.0.1:%d
webrtc: true
webrtcAddress: 127.0.0.1:%d
webrtcLocalUDPAddress: 127.0.0.1:%d
webrtcLocalTCPAddress: ''
webrtcIPsFromInterfaces: false
webrtcAdditionalHosts: [127.0.0.1]
webrtcICEServers2: []
authMethod: internal
authInternalUsers:
- user: onair
  pass: secret
  ips: []
  permissions:
  - action: publish
  - action: read
  - action: api
paths:
  all_others:
`, api, web, udp)
	dir := t.TempDir()
	path := filepath.Join(dir, "mediamtx.yml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &mediamtx{
		proc: start(t, "mediamtx", dir, nil, bin, path),
		web:  fmt.Sprintf("http://127.0.0.1:%d", web),
		api:  fmt.Sprintf("http://127.0.0.1:%d", api),
	}
	waitHTTP(t, m.proc, m.web)
	waitHTTP(t, m.proc, m.api)
	return m
}

// sessions returns MediaMTX's WebRTC sessions (API /v3/webrtcsessions/list).
func (m *mediamtx) sessions(t *testing.T) []map[string]any {
	t.Helper()
	var list struct {
		Items []map[string]any `json:"items"`
	}
	if err := getJSON(m.api+"/v3/webrtcsessions/list", "onair", "secret", &list); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// waitSessions waits until MediaMTX has n WebRTC sessions.
func (m *mediamtx) waitSessions(t *testing.T, n int) {
	t.Helper()
	waitFor(t, 30*time.Second, fmt.Sprintf("%d mediamtx sessions", n), func() bool { return len(m.sessions(t)) == n })
}

// listen runs `onair listen` of channel of m, playing on alsa's output.
func (m *mediamtx) listen(t *testing.T, alsa alsatest.Env, channel string) *proc {
	t.Helper()
	return onair(t, "onair listen", alsa, "listen", "--url", m.web+"/{channel}/whep",
		"--channel", channel, "--uid", "ear", "--output", "default", "--token", mediamtxToken)
}

// publish runs `onair publish` of a 440 Hz tone into channel of m.
func (m *mediamtx) publish(t *testing.T, alsa alsatest.Env, channel, token string) *proc {
	t.Helper()
	return onair(t, "onair publish", alsa, "publish", "--url", m.web+"/{channel}/whip",
		"--channel", channel, "--uid", "host", "--input", "tone:440", "--token", token)
}

// TestMediaMTXPublishListen: onair publish (440 Hz tone) → MediaMTX →
// onair listen, which plays 440 ± 2 Hz. Both leave with a DELETE: MediaMTX
// logs both sessions "terminated" (not "peer connection closed") and its
// API lists no session once they exited.
func TestMediaMTXPublishListen(t *testing.T) {
	m := startMediaMTX(t)
	alsa := alsatest.Setup(t, "", alsatest.Options{})
	pub := m.publish(t, alsa, "room", mediamtxToken)
	m.waitSessions(t, 1)
	waitFor(t, 30*time.Second, "the publisher connected", func() bool {
		return strings.Contains(pub.out.String(), "-> connected")
	})

	lis := m.listen(t, alsa, "room")
	checkTone(t, waitSound(t, alsa.OutPath, 5), 440)

	lis.stop(t)
	pub.stop(t)
	m.waitSessions(t, 0)
	for _, p := range []*proc{pub, lis} {
		if !strings.Contains(p.out.String(), "session deleted") {
			t.Errorf("%s did not delete its session:\n%s", p.name, p.out.String())
		}
	}
	if n := countLines(m.out.String(), "closed: terminated"); n != 2 {
		t.Errorf("mediamtx logged %d sessions closed by DELETE (terminated), want 2", n)
	}
}

// TestMediaMTXUnauthorized: a token MediaMTX refuses (it answers the
// OPTIONS 401, the POST 400) ends `onair publish` with unauthorized after
// one attempt: MediaMTX logs one failed authentication and no session.
func TestMediaMTXUnauthorized(t *testing.T) {
	m := startMediaMTX(t)
	alsa := alsatest.Setup(t, "", alsatest.Options{})
	pub := m.publish(t, alsa, "room", "onair:wrong")
	err := pub.wait(t, 60*time.Second)
	if err == nil {
		t.Fatalf("onair publish exited 0 with a refused token\n%s", pub.out.String())
	}
	out := pub.out.String()
	if !strings.Contains(out, "unauthorized") {
		t.Errorf("onair publish exited with %v without saying unauthorized:\n%s", err, out)
	}
	if n := countLines(out, "retrying"); n != 0 {
		t.Errorf("onair publish retried %d times:\n%s", n, out)
	}
	if n := countLines(m.out.String(), "failed to authenticate"); n != 1 {
		t.Errorf("mediamtx logged %d failed authentications, want 1", n)
	}
	if s := m.sessions(t); len(s) != 0 {
		t.Errorf("mediamtx has sessions %v, want none", s)
	}
}

// TestMediaMTXListenBeforeHost: onair listen joins a channel nobody
// publishes to yet (MediaMTX refuses the WHEP POST, onair retries); once
// another onair publishes its 440 Hz tone there, the listener plays it.
func TestMediaMTXListenBeforeHost(t *testing.T) {
	m := startMediaMTX(t)
	alsa := alsatest.Setup(t, "", alsatest.Options{})
	lis := m.listen(t, alsa, "later")
	waitFor(t, 30*time.Second, "the listener retrying", func() bool {
		return strings.Contains(lis.out.String(), "-> retrying")
	})
	pub := m.publish(t, alsa, "later", mediamtxToken)
	checkTone(t, waitSound(t, alsa.OutPath, 5), 440)
	lis.stop(t)
	pub.stop(t)
	m.waitSessions(t, 0)
}
