package relay

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/onair-dev/onair/token"
)

// manySectionOffer returns a WHEP offer with n receive-only Opus sections
// kept as short as pion accepts them (ICE and DTLS attributes at session
// level), the shape of an offer that packs thousands of sections into a
// small body.
func manySectionOffer(t *testing.T, n int) string {
	t.Helper()
	one := makeOffer(t, kindAudience, 1)
	head, media, ok := strings.Cut(one, "m=audio")
	if !ok {
		t.Fatalf("offer without audio: %q", one)
	}
	var b strings.Builder
	for line := range strings.Lines(head) {
		if !strings.HasPrefix(line, "a=group:BUNDLE") {
			b.WriteString(line)
		}
	}
	for line := range strings.Lines("m=audio" + media) {
		for _, k := range []string{"a=ice-ufrag:", "a=ice-pwd:", "a=setup:"} {
			if strings.HasPrefix(line, k) {
				b.WriteString(line)
			}
		}
	}
	b.WriteString("a=group:BUNDLE")
	for i := range n {
		fmt.Fprintf(&b, " %d", i)
	}
	b.WriteString("\r\n")
	for i := range n {
		fmt.Fprintf(&b, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:%d\r\na=rtcp-mux\r\na=recvonly\r\na=rtpmap:111 opus/48000/2\r\n", i)
	}
	return b.String()
}

// heapInuse returns the heap in use after a collection.
func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestOfferSectionBound: a WHEP offer with more media sections than the
// relay has slots is a 400 that says why, before pion makes a transceiver
// per section: offers of hundreds of sections leave neither sessions nor
// heap behind. Eight sections, the slots, are still accepted.
func TestOfferSectionBound(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{})
	const ch = "lobby"
	tok := mint(t, ch, "a", token.RoleAudience)

	eb := wantError(t, do(t, http.MethodPost, tr.endpoint(kindAudience, ch), tok, contentTypeSDP, makeOffer(t, kindAudience, 9)), 400, codeInvalidSDP)
	if want := "has 9 media sections (9 audio); this relay serves at most 8 hosts per channel"; !strings.Contains(eb.Error.Message, want) {
		t.Errorf("message %q does not say %q", eb.Error.Message, want)
	}
	host := mint(t, ch, "h", token.RoleHost)
	eb = wantError(t, do(t, http.MethodPost, tr.endpoint(kindHost, ch), host, contentTypeSDP, makeOffer(t, kindHost, 9)), 400, codeInvalidSDP)
	if !strings.Contains(eb.Error.Message, "has 9 media sections") {
		t.Errorf("whip message %q does not count the sections", eb.Error.Message)
	}

	// The attack: many offers of many small sections, each under the body
	// limit, with one valid audience token.
	const offers, sections = 12, 500
	offer := manySectionOffer(t, sections)
	if len(offer) > maxBody {
		t.Fatalf("attack offer of %d bytes exceeds the body limit %d", len(offer), maxBody)
	}
	before := heapInuse()
	var wg sync.WaitGroup
	status := make([]int, offers)
	for i := range offers {
		wg.Go(func() {
			status[i] = do(t, http.MethodPost, tr.endpoint(kindAudience, ch), tok, contentTypeSDP, offer).StatusCode
		})
	}
	wg.Wait()
	grown := int64(heapInuse()) - int64(before)
	for i, s := range status {
		if s != http.StatusBadRequest {
			t.Errorf("offer %d of %d sections: status %d, want 400", i, sections, s)
		}
	}
	if n := tr.Sessions(); n != 0 {
		t.Errorf("%d sessions after offers of %d sections, want 0", n, sections)
	}
	// Each accepted offer would hold a transceiver per section: about
	// 2 MiB of heap for 500 sections.
	if grown > 8<<20 {
		t.Errorf("heap grew by %d MiB over %d refused offers", grown>>20, offers)
	}

	if resp := do(t, http.MethodPost, tr.endpoint(kindAudience, ch), tok, contentTypeSDP, makeOffer(t, kindAudience, 8)); resp.StatusCode != 201 {
		t.Errorf("offer of 8 sections: %d %s", resp.StatusCode, resp.body)
	}
}

// TestOfferAttributeAndCandidateBounds: offers with too many attributes or
// candidates are 400s naming the bound, and a declared body over the
// limit is a 413 that closes the connection without reading the body.
func TestOfferAttributeAndCandidateBounds(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{})
	const ch = "lobby"
	tok := mint(t, ch, "a", token.RoleAudience)
	offer := makeOffer(t, kindAudience, 1)

	junk := offer + strings.Repeat("a=x-junk:1\r\n", maxAttributes)
	eb := wantError(t, do(t, http.MethodPost, tr.endpoint(kindAudience, ch), tok, contentTypeSDP, junk), 400, codeInvalidSDP)
	if !strings.Contains(eb.Error.Message, "attributes") {
		t.Errorf("message %q does not name the attributes", eb.Error.Message)
	}

	var cands strings.Builder
	for i := range maxCandidates + 1 {
		fmt.Fprintf(&cands, "a=candidate:%d 1 udp 2130706431 127.0.0.1 %d typ host\r\n", i, 40000+i)
	}
	eb = wantError(t, do(t, http.MethodPost, tr.endpoint(kindAudience, ch), tok, contentTypeSDP, offer+cands.String()), 400, codeInvalidSDP)
	if !strings.Contains(eb.Error.Message, "candidates") {
		t.Errorf("message %q does not name the candidates", eb.Error.Message)
	}

	big := offer + strings.Repeat("a=x-pad:0123456789abcdef0123456789abcdef\r\n", maxBody/40)
	resp := do(t, http.MethodPost, tr.endpoint(kindAudience, ch), tok, contentTypeSDP, big)
	wantError(t, resp, 413, codeTooLarge)
	if !resp.Close {
		t.Error("413 keeps the connection open")
	}
	if n := tr.Sessions(); n != 0 {
		t.Errorf("%d sessions after refused offers", n)
	}
}

// TestTrickleBound: PATCH bodies are bounded, and so are the candidates a
// session gathers by trickle in one ICE generation.
func TestTrickleBound(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{})
	const ch = "lobby"
	resp := do(t, http.MethodPost, tr.endpoint(kindAudience, ch), mint(t, ch, "a", token.RoleAudience), contentTypeSDP, makeOffer(t, kindAudience, 1))
	if resp.StatusCode != 201 {
		t.Fatalf("POST: %d %s", resp.StatusCode, resp.body)
	}
	loc, etag := tr.url+resp.Header.Get("Location"), resp.Header.Get("ETag")
	frag := func(from, n int) string {
		var b strings.Builder
		b.WriteString("a=mid:0\r\n")
		for i := from; i < from+n; i++ {
			fmt.Fprintf(&b, "a=candidate:%d 1 udp 2130706431 127.0.0.1 %d typ host\r\n", i, 40000+i)
		}
		return b.String()
	}
	const step = 10
	for i := 0; i+step <= maxCandidates; i += step {
		if p := do(t, http.MethodPatch, loc, "", contentTypeSDPFrag, frag(i, step), "If-Match: "+etag); p.StatusCode != 204 {
			t.Fatalf("PATCH of candidates %d..%d: %d %s", i, i+step, p.StatusCode, p.body)
		}
	}
	eb := wantError(t, do(t, http.MethodPatch, loc, "", contentTypeSDPFrag, frag(maxCandidates, step), "If-Match: "+etag), 400, codeInvalidSDP)
	if !strings.Contains(eb.Error.Message, "candidates") {
		t.Errorf("message %q does not name the candidates", eb.Error.Message)
	}
	big := "a=mid:0\r\n" + strings.Repeat("a=x-pad:0123456789abcdef\r\n", maxFragBody/20)
	wantError(t, do(t, http.MethodPatch, loc, "", contentTypeSDPFrag, big, "If-Match: "+etag), 413, codeTooLarge)
}

// TestOfferSectionBoundFewSlots: with fewer slots than clients offer by
// default, the default offer is still answered, and more is refused.
func TestOfferSectionBoundFewSlots(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{AudienceSlots: 2})
	const ch = "lobby"
	tok := mint(t, ch, "a", token.RoleAudience)
	if resp := do(t, http.MethodPost, tr.endpoint(kindAudience, ch), tok, contentTypeSDP, makeOffer(t, kindAudience, DefaultAudienceSlots)); resp.StatusCode != 201 {
		t.Errorf("offer of %d sections: %d %s", DefaultAudienceSlots, resp.StatusCode, resp.body)
	}
	eb := wantError(t, do(t, http.MethodPost, tr.endpoint(kindAudience, ch), tok, contentTypeSDP, makeOffer(t, kindAudience, DefaultAudienceSlots+1)), 400, codeInvalidSDP)
	if want := "serves at most 2 hosts per channel"; !strings.Contains(eb.Error.Message, want) {
		t.Errorf("message %q does not say %q", eb.Error.Message, want)
	}
}
