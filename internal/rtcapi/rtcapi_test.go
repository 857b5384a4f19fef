package rtcapi

import (
	"context"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

func TestNewAPIOffersOpusOnly(t *testing.T) {
	api, err := NewAPI(NetworkConfig{Interfaces: []string{"lo"}, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pc.Close() }()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "a=rtpmap:111 opus/48000/2\r\n",
		"a=fmtp:111 minptime=10;useinbandfec=1\r\n", "a=rtcp-fb:111 transport-cc\r\n"} {
		if !strings.Contains(offer.SDP, want) {
			t.Errorf("offer lacks %q:\n%s", want, offer.SDP)
		}
	}
}

func TestOpusCodec(t *testing.T) {
	for _, tc := range []struct {
		channels int
		fmtp     string
	}{
		{1, "minptime=10;useinbandfec=1"},
		{2, "minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1"},
	} {
		c := OpusCodec(tc.channels)
		if c.SDPFmtpLine != tc.fmtp || c.Channels != 2 || c.ClockRate != 48000 || c.PayloadType != 111 ||
			c.MimeType != webrtc.MimeTypeOpus {
			t.Errorf("OpusCodec(%d) = %+v, want opus/48000/2 pt 111 fmtp %q", tc.channels, c, tc.fmtp)
		}
	}
}

func TestPionICEServers(t *testing.T) {
	got := PionICEServers([]ICEServer{
		{URLs: []string{"stun:stun.example.net"}},
		{URLs: []string{"turn:turn.example.net?transport=udp"}, Username: "u", Credential: "p"},
	})
	if len(got) != 2 {
		t.Fatalf("got %d servers, want 2", len(got))
	}
	if s := got[0]; s.URLs[0] != "stun:stun.example.net" || s.Username != "" || s.Credential != nil {
		t.Errorf("stun server %+v", s)
	}
	if s := got[1]; s.Username != "u" || s.Credential != "p" || s.CredentialType != webrtc.ICECredentialTypePassword {
		t.Errorf("turn server %+v, want password credentials u/p", s)
	}
}

func TestIsLoopbackHost(t *testing.T) {
	ctx := context.Background()
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.8.9.10": true, "::1": true, "[::1]": true, "localhost": true,
		"LOCALHOST.": true, "relay.localhost": true, "::ffff:127.0.0.1": true,
		"": false, "10.0.0.1": false, "192.168.1.20": false, "2001:db8::1": false, "nonexistent.invalid": false,
	} {
		if got := IsLoopbackHost(ctx, host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestForPeer: loopback is added for a peer on this machine unless the
// configuration decided; OnlyLoopback holds where only lo may be used.
func TestForPeer(t *testing.T) {
	ctx := context.Background()
	onlyLo := NetworkConfig{Interfaces: []string{"lo"}}
	if !OnlyLoopback(onlyLo) {
		t.Error("OnlyLoopback with interfaces [lo] = false")
	}
	if !OnlyLoopback(NetworkConfig{Interfaces: []string{"absent0"}}) {
		t.Error("OnlyLoopback with an absent interface = false")
	}
	if n := onlyLo.ForPeer(ctx, "192.0.2.1"); !n.Loopback {
		t.Error("auto, only loopback usable: loopback not added")
	}
	if n := (NetworkConfig{NoLoopback: true}).ForPeer(ctx, "127.0.0.1"); n.Loopback {
		t.Error("NoLoopback: loopback added")
	}
	if n := (NetworkConfig{Loopback: true, NoLoopback: true}).ForPeer(ctx, "192.0.2.1"); !n.Loopback {
		t.Error("Loopback: not kept")
	}
	if n := (NetworkConfig{}).ForPeer(ctx, "localhost"); !n.Loopback {
		t.Error("auto, peer on localhost: loopback not added")
	}
}
