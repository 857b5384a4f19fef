package interop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/onair-dev/onair/internal/alsatest"
)

// The API key and secret of the test's livekit-server.
const (
	livekitKey    = "APIonairinterop"
	livekitSecret = "onair-interop-livekit-secret-0123456789abcdef"
)

// livekit is a running single-node livekit-server on loopback.
type livekit struct {
	*proc
	url string // http://127.0.0.1:port: WHIP at /whip/v1, signalling at ws://…
}

// startLiveKit starts livekit-server with a configuration in t.TempDir():
// HTTP on 127.0.0.1, ICE on 127.0.0.1 only (no external IP; one UDP port
// and ICE/TCP on loopback), the test's key.
func startLiveKit(t *testing.T) *livekit {
	t.Helper()
	bin := serverBin(t, "livekit-server", "v1.13.5", "livekit-server")
	port, tcp, udp := freePort(t, "tcp"), freePort(t, "tcp"), freePort(t, "udp")
	conf := fmt.Sprintf(`port: %d
bind_addresses: [127.0.0.1]
rtc:
  tcp_port: %d
  udp_port: %d
  use_external_ip: false
  node_ip: 127.0.0.1
  enable_loopback_candidate: true
  interfaces:
    includes: [lo]
keys:
  %s: %s
logging:
  level: info
`, port, tcp, udp, livekitKey, livekitSecret)
	dir := t.TempDir()
	path := filepath.Join(dir, "livekit.yaml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	lk := &livekit{proc: start(t, "livekit-server", dir, nil, bin, "--config", path),
		url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	waitHTTP(t, lk.proc, lk.url)
	return lk
}

// livekitToken mints a LiveKit access token for identity with the video
// grant (room, roomJoin, and the given extra grants).
func livekitToken(t *testing.T, identity string, grant map[string]any) string {
	t.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss":   livekitKey,
		"sub":   identity,
		"name":  identity,
		"nbf":   now.Add(-time.Minute).Unix(),
		"exp":   now.Add(time.Hour).Unix(),
		"video": grant,
	})
	s, err := tok.SignedString([]byte(livekitSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// participants lists the room's participants through LiveKit's own room
// service (Twirp, roomAdmin token).
func (lk *livekit) participants(t *testing.T, room string) []string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"room": room})
	req, err := http.NewRequest(http.MethodPost, lk.url+"/twirp/livekit.RoomService/ListParticipants", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+livekitToken(t, "admin", map[string]any{"room": room, "roomAdmin": true}))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Participants []struct {
			Identity string `json:"identity"`
		} `json:"participants"`
	}
	if resp.StatusCode == http.StatusNotFound { // the room is gone
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("list participants: %s: %v", resp.Status, err)
	}
	var ids []string
	for _, p := range list.Participants {
		ids = append(ids, p.Identity)
	}
	return ids
}

// requireLiveKitBrowser skips (fails in CI) without Chromium, node or
// interop/browser's node modules.
func requireLiveKitBrowser(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		missing = append(missing, "/usr/bin/chromium (apt-get install chromium)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node (apt-get install nodejs npm)")
	}
	for _, m := range []string{"livekit-client", "playwright-core"} {
		if _, err := os.Stat(filepath.Join("browser", "node_modules", m, "package.json")); err != nil {
			missing = append(missing, "interop/browser/node_modules/"+m+" (scripts/deps.sh test)")
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "livekit browser subscriber needs " + strings.Join(missing, ", ")
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// heard is what livekit-listen.mjs reports.
type heard struct {
	OK           bool      `json:"ok"`
	Error        string    `json:"error"`
	Participants []string  `json:"participants"`
	Hz           []float64 `json:"hz"`
	RMS          []float64 `json:"rms"`
}

// browserListen joins room in headless Chromium with livekit-client and
// samples publisher's audio track for seconds seconds.
func browserListen(t *testing.T, lk *livekit, room, publisher string, seconds int) heard {
	t.Helper()
	token := livekitToken(t, "browser", map[string]any{"room": room, "roomJoin": true, "canSubscribe": true, "canPublish": false})
	ws := "ws" + strings.TrimPrefix(lk.url, "http")
	result := filepath.Join(t.TempDir(), "heard.json")
	p := start(t, "livekit-listen.mjs", "browser", nil, "node", "livekit-listen.mjs",
		"--ws", ws, "--token", token, "--publisher", publisher, "--result", result, "--seconds", fmt.Sprint(seconds))
	err := p.wait(t, time.Duration(60+seconds)*time.Second)
	var h heard
	b, rerr := os.ReadFile(result)
	if rerr == nil {
		rerr = json.Unmarshal(b, &h)
	}
	if rerr != nil || !h.OK {
		t.Fatalf("livekit-listen.mjs exited with %v: %s %v\n%s", err, h.Error, rerr, p.out.String())
	}
	return h
}

// TestLiveKitPublish: onair publish (440 Hz tone) → livekit-server's WHIP
// endpoint /whip/v1 with a LiveKit token (room = channel, identity = uid,
// canPublish). An independent subscriber, livekit-client in headless
// Chromium, finds the participant and hears 440 ± 2 Hz in WebAudio at every
// one-second sample for 5 s. When onair leaves, its DELETE removes the
// participant from the room.
func TestLiveKitPublish(t *testing.T) {
	requireLiveKitBrowser(t)
	lk := startLiveKit(t)
	alsa := alsatest.Setup(t, "", alsatest.Options{})
	token := livekitToken(t, "host", map[string]any{"room": "room", "roomJoin": true, "canPublish": true})
	pub := onair(t, "onair publish", alsa, "publish", "--url", lk.url+"/whip/v1",
		"--channel", "room", "--uid", "host", "--input", "tone:440", "--token", token)
	waitFor(t, 30*time.Second, "onair publish connected", func() bool {
		return strings.Contains(pub.out.String(), "-> connected")
	})

	h := browserListen(t, lk, "room", "host", 5)
	t.Logf("browser: participants %v, dominant frequency %v Hz, RMS %v", h.Participants, h.Hz, h.RMS)
	if len(h.Participants) != 1 || h.Participants[0] != "host" {
		t.Errorf("the browser sees participants %v, want [host]", h.Participants)
	}
	if len(h.Hz) != 5 {
		t.Fatalf("%d samples, want 5", len(h.Hz))
	}
	for i, hz := range h.Hz {
		if math.IsNaN(hz) || math.Abs(hz-440) > 2 || h.RMS[i] < 0.05 {
			t.Errorf("sample %d: %.2f Hz at RMS %.3f, want 440 ± 2 Hz and sound", i, hz, h.RMS[i])
		}
	}

	pub.stop(t)
	if !strings.Contains(pub.out.String(), "session deleted") {
		t.Errorf("onair publish did not delete its session:\n%s", pub.out.String())
	}
	waitFor(t, 30*time.Second, "livekit dropping the participant", func() bool {
		return len(lk.participants(t, "room")) == 0
	})
}
