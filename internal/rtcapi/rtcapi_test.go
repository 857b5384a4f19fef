package rtcapi

import (
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
