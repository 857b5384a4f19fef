package relay

import (
	"github.com/onair-dev/onair/internal/leaktest"
	"github.com/onair-dev/onair/internal/waitfor"

	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/onair-dev/onair/audio"
	"github.com/onair-dev/onair/internal/wheptest"
	"github.com/onair-dev/onair/token"
	"github.com/onair-dev/onair/uplink"
)

const testSecret = "relay-test-secret-0123456789abcdef"

// loopback keeps every peer of the tests on the loopback interface.
var loopback = uplink.NetworkConfig{Interfaces: []string{"lo"}, Loopback: true}

const connectTimeout = 10 * time.Second

// testLog is a debug logger with -v, silent otherwise.
func testLog() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testRelay is a relay behind an httptest server.
type testRelay struct {
	*Relay
	url string // base URL, no trailing slash
	srv *httptest.Server
}

// newRelay starts a relay with cfg (secret and loopback network filled in
// when unset), closed at the end of the test.
func newRelay(t *testing.T, cfg Config) *testRelay {
	t.Helper()
	if cfg.TokenSecret == "" && !cfg.AllowAnonymous {
		cfg.TokenSecret = testSecret
	}
	if cfg.Network.Interfaces == nil {
		cfg.Network = loopback
	}
	r, err := New(cfg, testLog())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(func() {
		srv.Close()
		r.Close()
	})
	return &testRelay{Relay: r, url: srv.URL, srv: srv}
}

// endpoint returns the WHIP or WHEP URL of channel name.
func (tr *testRelay) endpoint(k kind, name string) string {
	return tr.url + k.prefix() + url.PathEscape(name)
}

// mint returns a token signed with the test secret.
func mint(t *testing.T, name, uid string, role token.Role) string {
	t.Helper()
	tok, err := token.Mint([]byte(testSecret), token.Claims{Channel: name, UID: uid, Role: role}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// checkGoroutines registers, as the test's first cleanup (so it runs
// last), a check that the goroutines started from now on have ended.
func checkGoroutines(t *testing.T) { leaktest.Check(t) }

// host is a real onair WHIP publisher fed by an audio pipeline.
type host struct {
	pub    *uplink.Publisher
	pipe   *audio.Pipeline
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	state  uplink.State
}

// startHost publishes the audio source spec ("tone:440") to a WHIP URL.
// stop (also run at cleanup) cancels it: the publisher DELETEs its session.
func startHost(t *testing.T, whipURL, tok, spec string) *host {
	t.Helper()
	src, err := audio.OpenSource(spec, audio.Format{SampleRate: 48000, Channels: 1, FrameMs: 20}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pipe, err := audio.NewPipeline(audio.PipelineConfig{
		Source: src,
		Opus:   audio.OpusOptions{Bitrate: 64000, Complexity: 5, Application: "audio"},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := &host{pipe: pipe, done: make(chan struct{})}
	pub, err := uplink.NewPublisher(uplink.PublisherConfig{
		URL:      whipURL,
		Token:    tok,
		Network:  loopback,
		RetryMin: 50 * time.Millisecond,
		RetryMax: 200 * time.Millisecond,
		Log:      testLog().With("host", spec),
		OnState: func(s uplink.State, _ error) {
			h.mu.Lock()
			h.state = s
			h.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.pub = pub
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = pub.Run(ctx)
	}()
	go func() {
		defer wg.Done()
		_ = pipe.Run(ctx, func(f audio.Frame) error { return pub.WriteOpus(f.Payload, f.Samples) })
	}()
	go func() {
		wg.Wait()
		_ = src.Close()
		close(h.done)
	}()
	t.Cleanup(h.stop)
	return h
}

// waitState waits until the publisher is in state s.
func (h *host) waitState(t *testing.T, s uplink.State, timeout time.Duration) {
	t.Helper()
	var cur uplink.State
	if !waitfor.Poll(timeout, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		cur = h.state
		return cur == s
	}) {
		t.Fatalf("publisher in state %s after %s, want %s", cur, timeout, s)
	}
}

// stop cancels the publisher and waits until it has deleted its session.
func (h *host) stop() {
	h.cancel()
	<-h.done
}

// dialAudience subscribes a Go WHEP audience with 8 transceivers; it is
// deleted at cleanup.
func dialAudience(t *testing.T, whepURL, tok string) *wheptest.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	c, err := wheptest.Dial(ctx, wheptest.Config{URL: whepURL, Token: tok, Network: loopback})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Delete(dctx)
	})
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// waitFor waits until cond holds, failing t after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	waitfor.Cond(t, timeout, cond, "%s", what)
}

// makeOffer returns an SDP offer of a throwaway pion peer: a send-only
// audio section for WHIP, n receive-only ones for WHEP.
func makeOffer(t *testing.T, k kind, n int) string {
	t.Helper()
	api, err := uplink.NewAPI(loopback)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	dir := webrtc.RTPTransceiverDirectionRecvonly
	if k == kindHost {
		dir = webrtc.RTPTransceiverDirectionSendonly
	}
	for range n {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: dir}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return offer.SDP
}

// response is an HTTP answer with its body read.
type response struct {
	*http.Response
	body string
}

// do sends a request with an optional Bearer token and extra header
// fields ("Key: value").
func do(t *testing.T, method, u, tok, contentType, body string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Response: resp, body: string(b)}
}

// wantError checks that resp is status with a JSON error body of code.
func wantError(t *testing.T, resp response, status int, code string) errorBody {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, resp.body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error content type %q", ct)
	}
	var eb errorBody
	if err := json.Unmarshal([]byte(resp.body), &eb); err != nil {
		t.Fatalf("error body %q: %v", resp.body, err)
	}
	if eb.Error.Code != code || eb.Error.Message == "" {
		t.Errorf("error body %+v, want code %s and a message", eb, code)
	}
	return eb
}

// getJSON GETs u and decodes the 200's JSON into v.
func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp := do(t, http.MethodGet, u, "", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, resp.body)
	}
	if err := json.Unmarshal([]byte(resp.body), v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}
