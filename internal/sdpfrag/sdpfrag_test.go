package sdpfrag

import (
	"errors"
	"strings"
	"testing"
)

const testAnswer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:old\r\na=ice-pwd:oldpwd\r\n" +
	"a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\na=end-of-candidates\r\na=rtpmap:111 opus/48000/2\r\n"

func TestFragRoundTrip(t *testing.T) {
	p := Frag{Ufrag: "uf", Pwd: "pw", Mid: "0", Media: "audio 9 UDP/TLS/RTP/SAVPF 111",
		Candidates: []string{"1 1 udp 1 127.0.0.1 9 typ host"}, End: true}
	frag := p.String()
	if !strings.Contains(frag, "a=ice-ufrag:uf\r\n") || !strings.Contains(frag, "m=audio 9") ||
		!strings.Contains(frag, "a=mid:0\r\na=candidate:1 1 udp") || !strings.HasSuffix(frag, "a=end-of-candidates\r\n") {
		t.Errorf("frag %q", frag)
	}
	if got := Parse(frag); got.Ufrag != "uf" || got.Pwd != "pw" || got.Mid != "0" || len(got.Candidates) != 1 || !got.End {
		t.Errorf("round trip %+v", got)
	}
	local, err := FromSDP(testAnswer)
	if err != nil || local.Ufrag != "old" || local.Pwd != "oldpwd" || local.Mid != "0" || len(local.Candidates) != 1 ||
		local.Media != "audio 9 UDP/TLS/RTP/SAVPF 111" {
		t.Errorf("FromSDP %+v %v", local, err)
	}
	if _, err := FromSDP("v=0\r\n"); err == nil {
		t.Error("FromSDP of a bad sdp")
	}
	if _, err := FromSDP(strings.ReplaceAll(testAnswer, "a=ice-pwd:oldpwd\r\n", "")); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("FromSDP without ice-pwd = %v", err)
	}
	// A fragment without a media section or end: only what it has.
	if got := (Frag{Ufrag: "a", Pwd: "b"}).String(); got != "a=ice-ufrag:a\r\na=ice-pwd:b\r\n" {
		t.Errorf("bare frag %q", got)
	}
}

func TestParseTakesFirstCredentials(t *testing.T) {
	f := Parse("a=ice-ufrag:one\r\na=ice-pwd:p1\r\nm=audio 9 X 1\r\na=ice-ufrag:two\r\na=candidate:c1\r\n\n  a=candidate:c2  \r\n")
	if f.Ufrag != "one" || f.Pwd != "p1" || f.Media != "audio 9 X 1" || len(f.Candidates) != 2 || f.Candidates[1] != "c2" {
		t.Errorf("Parse = %+v", f)
	}
}

func TestRestart(t *testing.T) {
	p := Parse("a=ice-lite\r\na=ice-ufrag:new\r\na=ice-pwd:newpwd\r\n" +
		"a=candidate:2 1 udp 2130706431 127.0.0.1 6000 typ host\r\na=end-of-candidates\r\n")
	got, err := Restart(testAnswer, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a=ice-lite", "a=ice-ufrag:new", "a=ice-pwd:newpwd", "127.0.0.1 6000", "a=end-of-candidates", "a=rtpmap:111"} {
		if !strings.Contains(got, want) {
			t.Errorf("answer lacks %q:\n%s", want, got)
		}
	}
	for _, old := range []string{"ice-ufrag:old", "5000"} {
		if strings.Contains(got, old) {
			t.Errorf("answer still has %q", old)
		}
	}
	if _, err := Restart(testAnswer, Frag{}); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("restart without credentials: %v", err)
	}
}
