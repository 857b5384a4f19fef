// Package wheptest is a small WHEP subscriber (draft-ietf-wish-whep) for
// tests and benchmarks: one pion PeerConnection with K receive-only audio
// transceivers, the offer POSTed with every candidate, and per transceiver
// the packets counted and the Opus decoded to mono PCM.
package wheptest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hraban/opus"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/onair-dev/onair/internal/rtcapi"
	"github.com/onair-dev/onair/internal/rtctest"
)

// DefaultTracks is how many transceivers a Client offers by default, as the
// listen page does.
const DefaultTracks = 8

// keepPCM bounds the decoded audio kept per transceiver.
const keepPCM = 10 * 48000

// gatherTimeout bounds the wait for ICE gathering before the offer is sent.
const gatherTimeout = 2 * time.Second

// Config configures a Client.
type Config struct {
	URL     string               // the WHEP endpoint
	Token   string               // Bearer token; empty for none
	Tracks  int                  // receive-only audio transceivers; DefaultTracks if 0
	Network rtcapi.NetworkConfig // used with rtctest.NewAPI when API is nil
	// API, if set, makes the PeerConnection instead of rtctest.NewAPI
	// (benchmarks use one without interceptors).
	API *webrtc.API
	// NoDecode only counts packets (benchmarks).
	NoDecode bool
	// OnPacket, if set, is called from the reading goroutine of transceiver
	// i with every packet.
	OnPacket   func(i int, pkt *rtp.Packet)
	HTTPClient *http.Client // http.DefaultClient if nil
}

// StatusError is a non-201 answer to the POST.
type StatusError struct {
	Code   int
	Header http.Header
	Body   string
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("wheptest: post offer: status %d: %s", e.Code, strings.TrimSpace(e.Body))
}

// Client is a running WHEP subscription.
type Client struct {
	cfg      Config
	pc       *webrtc.PeerConnection
	location string
	etag     string
	tracks   []*trackState
	hc       *http.Client

	connected chan struct{}
	connOnce  sync.Once
	mu        sync.Mutex // guards closed and wg.Add
	closed    bool
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// trackState is what arrived on one transceiver.
type trackState struct {
	mu      sync.Mutex
	packets uint64
	last    time.Time
	pcm     []float32
	ssrc    uint32
}

// Dial subscribes: it makes the offer, POSTs it to cfg.URL and applies the
// answer. It does not wait for the connection (see WaitConnected).
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Tracks == 0 {
		cfg.Tracks = DefaultTracks
	}
	api := cfg.API
	if api == nil {
		var err error
		if api, err = rtctest.NewAPI(cfg.Network); err != nil {
			return nil, err
		}
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
	if err != nil {
		return nil, fmt.Errorf("wheptest: new peer connection: %w", err)
	}
	c := &Client{cfg: cfg, pc: pc, hc: hc, connected: make(chan struct{})}
	for range cfg.Tracks {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{
			Direction: webrtc.RTPTransceiverDirectionRecvonly,
		}); err != nil {
			_ = pc.Close()
			return nil, fmt.Errorf("wheptest: add transceiver: %w", err)
		}
		c.tracks = append(c.tracks, &trackState{})
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			c.connOnce.Do(func() { close(c.connected) })
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
		i := c.index(rcv)
		if i < 0 {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed {
			return
		}
		c.wg.Add(1)
		go c.read(i, t)
	})
	if err := c.start(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// index returns the transceiver index of rcv, or -1.
func (c *Client) index(rcv *webrtc.RTPReceiver) int {
	for i, tr := range c.pc.GetTransceivers() {
		if tr.Receiver() == rcv {
			if i < len(c.tracks) {
				return i
			}
			return -1
		}
	}
	return -1
}

// start makes the offer, waits for gathering, POSTs and applies the answer.
func (c *Client) start(ctx context.Context) error {
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("wheptest: create offer: %w", err)
	}
	done := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("wheptest: set offer: %w", err)
	}
	select {
	case <-done:
	case <-time.After(gatherTimeout):
	case <-ctx.Done():
		return ctx.Err()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, strings.NewReader(c.pc.LocalDescription().SDP))
	if err != nil {
		return fmt.Errorf("wheptest: %w", err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("wheptest: post offer: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("wheptest: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return &StatusError{Code: resp.StatusCode, Header: resp.Header, Body: string(body)}
	}
	loc, err := resp.Location()
	if err != nil {
		return fmt.Errorf("wheptest: 201 without Location: %w", err)
	}
	c.location, c.etag = loc.String(), resp.Header.Get("ETag")
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		return fmt.Errorf("wheptest: set answer: %w", err)
	}
	return nil
}

// read counts, hands out and decodes the packets of transceiver i.
func (c *Client) read(i int, t *webrtc.TrackRemote) {
	defer c.wg.Done()
	st := c.tracks[i]
	var dec *opus.Decoder
	if !c.cfg.NoDecode {
		dec, _ = opus.NewDecoder(48000, 1)
	}
	pcm := make([]float32, 5760)
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		if c.cfg.OnPacket != nil {
			c.cfg.OnPacket(i, pkt)
		}
		n := 0
		if dec != nil {
			n, _ = dec.DecodeFloat32(pkt.Payload, pcm)
		}
		st.mu.Lock()
		st.packets++
		st.last = time.Now()
		st.ssrc = pkt.SSRC
		if n > 0 {
			st.pcm = append(st.pcm, pcm[:n]...)
			if over := len(st.pcm) - keepPCM; over > keepPCM/2 {
				st.pcm = append(st.pcm[:0], st.pcm[over:]...)
			}
		}
		st.mu.Unlock()
	}
}

// Location returns the session resource URL.
func (c *Client) Location() string { return c.location }

// ETag returns the session's entity-tag from the 201.
func (c *Client) ETag() string { return c.etag }

// PeerConnection returns the client's PeerConnection.
func (c *Client) PeerConnection() *webrtc.PeerConnection { return c.pc }

// WaitConnected waits until the PeerConnection is connected.
func (c *Client) WaitConnected(ctx context.Context) error {
	select {
	case <-c.connected:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wheptest: not connected (%s): %w", c.pc.ConnectionState(), ctx.Err())
	}
}

// Packets returns how many packets arrived on transceiver i.
func (c *Client) Packets(i int) uint64 {
	st := c.tracks[i]
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.packets
}

// LastPacket returns when the last packet arrived on transceiver i (zero
// if none did).
func (c *Client) LastPacket(i int) time.Time {
	st := c.tracks[i]
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.last
}

// PCM returns a copy of the last d of decoded mono 48 kHz audio of
// transceiver i (less if less arrived).
func (c *Client) PCM(i int, d time.Duration) []float32 {
	st := c.tracks[i]
	st.mu.Lock()
	defer st.mu.Unlock()
	n := min(len(st.pcm), int(d.Seconds()*48000))
	return append([]float32(nil), st.pcm[len(st.pcm)-n:]...)
}

// Delete DELETEs the session resource, then closes the client.
func (c *Client) Delete(ctx context.Context) error {
	defer c.Close()
	if c.location == "" {
		return errors.New("wheptest: no session")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.location, nil)
	if err != nil {
		return err
	}
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("wheptest: delete: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("wheptest: delete: status %d", resp.StatusCode)
	}
	return nil
}

// Close closes the PeerConnection without telling the server (a client
// that vanishes) and waits for the reading goroutines.
func (c *Client) Close() {
	c.closeOnce.Do(func() {
		_ = c.pc.GracefulClose()
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.wg.Wait()
	})
}
