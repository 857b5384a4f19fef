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

// go2rtc is a running go2rtc with its API and WebRTC on loopback and one
// configured stream, "room", without a source of its own.
type go2rtc struct {
	*proc
	api string // base URL
}

// startGo2RTC starts go2rtc with a YAML configuration in t.TempDir(): the
// API (WHIP and WHEP at /api/webrtc) and WebRTC on 127.0.0.1, RTSP and SRTP
// off.
func startGo2RTC(t *testing.T) *go2rtc {
	t.Helper()
	bin := serverBin(t, "go2rtc", "v1.9.14", "go2rtc")
	api, ice := freePort(t, "tcp"), freePort(t, "udp")
	conf := fmt.Sprintf(`log:
  level: debug
api:
  listen: "127.0.0.1:%d"
rtsp:
  listen: ""
srtp:
  listen: ""
webrtc:
  listen: "127.0.0.1:%d/udp"
  candidates: ["127.0.0.1:%d"]
  filters:
    loopback: true
    interfaces: [lo]
    ips: [127.0.0.1]
streams:
  room:
`, api, ice, ice)
	dir := t.TempDir()
	path := filepath.Join(dir, "go2rtc.yaml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &go2rtc{proc: start(t, "go2rtc", dir, nil, bin, "-config", path), api: fmt.Sprintf("http://127.0.0.1:%d", api)}
	waitHTTP(t, g.proc, g.api+"/api")
	return g
}

// stream is what go2rtc's /api/streams says of one stream.
type stream struct {
	Producers []map[string]any `json:"producers"`
	Consumers []map[string]any `json:"consumers"`
}

// stream returns go2rtc's view of the stream name.
func (g *go2rtc) stream(t *testing.T, name string) stream {
	t.Helper()
	var all map[string]stream
	if err := getJSON(g.api+"/api/streams", "", "", &all); err != nil {
		t.Fatal(err)
	}
	return all[name]
}

// webrtcPeers returns how many of the stream's producers (or consumers)
// are WebRTC sessions; the configured stream has none of its own.
func webrtcPeers(list []map[string]any) int {
	n := 0
	for _, p := range list {
		if strings.HasPrefix(fmt.Sprint(p["format_name"]), "webrtc") {
			n++
		}
	}
	return n
}

// TestGo2RTCPublishListen: onair publish (440 Hz tone) → go2rtc by WHIP,
// which lists it as the stream's WebRTC producer; onair listen by WHEP
// (go2rtc answers 201 without Location) is its consumer and plays 440 ± 2
// Hz. When the listener leaves, go2rtc drops the consumer (the
// PeerConnection closed, there is nothing to DELETE); when the publisher
// leaves, its DELETE drops the producer.
func TestGo2RTCPublishListen(t *testing.T) {
	g := startGo2RTC(t)
	alsa := alsatest.Setup(t, "", alsatest.Options{})
	pub := onair(t, "onair publish", alsa, "publish", "--url", g.api+"/api/webrtc?dst={channel}",
		"--channel", "room", "--uid", "host", "--input", "tone:440")
	waitFor(t, 30*time.Second, "a webrtc producer of room in go2rtc", func() bool {
		return webrtcPeers(g.stream(t, "room").Producers) == 1
	})

	lis := onair(t, "onair listen", alsa, "listen", "--url", g.api+"/api/webrtc?src={channel}",
		"--channel", "room", "--uid", "ear", "--output", "default")
	checkTone(t, waitSound(t, alsa.OutPath, 5), 440)
	if n := webrtcPeers(g.stream(t, "room").Consumers); n != 1 {
		t.Errorf("go2rtc lists %d webrtc consumers of room, want 1", n)
	}
	out := lis.out.String()
	if !strings.Contains(out, "no resource URL") || strings.Contains(out, "-> retrying") {
		t.Errorf("onair listen did not take go2rtc's 201 without Location as its session:\n%s", out)
	}
	// go2rtc answers each of onair's recvonly sections with a copy of the
	// one stream (same msid); the listener mixes every copy until it dedupes.
	t.Logf("onair listen added %d streams for go2rtc's one", countLines(out, `msg="stream added" component=uplink`))

	lis.stop(t)
	waitFor(t, 30*time.Second, "go2rtc dropping the listener", func() bool {
		return len(g.stream(t, "room").Consumers) == 0
	})
	pub.stop(t)
	if !strings.Contains(pub.out.String(), "session deleted") {
		t.Errorf("onair publish did not delete its session:\n%s", pub.out.String())
	}
	waitFor(t, 30*time.Second, "go2rtc dropping the publisher", func() bool {
		return webrtcPeers(g.stream(t, "room").Producers) == 0
	})
}
