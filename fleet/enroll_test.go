package fleet

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestEnrollAnswersCertificateAndSettings(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.Settings.Broker = "mqtts://broker.example:8883" })
	ts := serveTLS(t, s)
	b := newBoard(t, "pi-1")
	a := b.enroll(t, s, ts, claim(t, s, 2, time.Hour, "lab", "hall"))
	if a.status != http.StatusCreated {
		t.Fatalf("enroll: %d %+v", a.status, a.err)
	}
	leaf, err := x509.ParseCertificate(b.cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(a.issued.CA)) {
		t.Fatal("no CA in the answer")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("certificate does not verify with the CA of the answer: %v", err)
	}
	if leaf.Subject.CommonName != "pi-1" {
		t.Errorf("CN %q", leaf.Subject.CommonName)
	}
	st := a.issued.Settings
	if st.Broker != "mqtts://broker.example:8883" || st.TopicPrefix != "onair" || fmt.Sprint(st.Groups) != "[lab hall]" ||
		st.Uplink.WHIPURL != "https://media.example/whip/{channel}" || st.Uplink.WHEPURL != "https://media.example/whep/{channel}" {
		t.Errorf("settings %+v", st)
	}
	d, err := s.reg.Device(t.Context(), "pi-1")
	if err != nil {
		t.Fatal(err)
	}
	if d.Serial != leaf.SerialNumber.Text(16) || d.CertPEM != a.issued.Certificate {
		t.Errorf("registry %+v does not hold the certificate issued", d)
	}
	log, err := s.reg.AuditLog(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if last := log[len(log)-1]; last.Who != "device:pi-1" || last.Action != "enroll" || last.Result != "ok" {
		t.Errorf("audit %+v", last)
	}
}

// A board that enrolls again with the same key (it lost the answer, or its
// certificate) gets a certificate without spending a use of the claim; a
// board with another key under the same id is refused until the operator
// readmits the device.
func TestReenrollSameKeyFreeOtherKeyConflict(t *testing.T) {
	s := newTestServer(t, nil)
	ts := serveTLS(t, s)
	tok := claim(t, s, 2, time.Hour)
	b := newBoard(t, "pi-1")
	for i := range 3 {
		if a := b.enroll(t, s, ts, tok); a.status != http.StatusCreated {
			t.Fatalf("enroll %d: %d %+v", i, a.status, a.err)
		}
	}
	if c := countRows(t, s); c.devices != 1 || c.usesLeft != 1 || c.certs != 3 {
		t.Fatalf("after three enrollments with one key: %+v, want 1 device, 1 use left, 3 certs", c)
	}
	impostor := newBoard(t, "pi-1")
	before := countRows(t, s)
	if a := impostor.enroll(t, s, ts, tok); a.status != http.StatusConflict || a.err.Error.Code != "key_conflict" {
		t.Fatalf("other key: %d %+v, want 409 key_conflict", a.status, a.err)
	}
	if c := countRows(t, s); c != before {
		t.Fatalf("refusal changed the registry: %+v -> %+v", before, c)
	}
	if err := s.Readmit(t.Context(), "pi-1", "operator:test"); err != nil {
		t.Fatal(err)
	}
	if a := impostor.enroll(t, s, ts, tok); a.status != http.StatusCreated {
		t.Fatalf("other key after readmit: %d %+v", a.status, a.err)
	}
	if c := countRows(t, s); c.usesLeft != 0 {
		t.Errorf("a new key spends a use: %+v", c)
	}
	if a := b.enroll(t, s, ts, tok); a.status != http.StatusConflict {
		t.Errorf("the old key after the new one enrolled: %d %+v, want 409", a.status, a.err)
	}
}

// Each bad request is refused with its status and code and leaves the
// registry's devices, certificates and claim uses as they were.
func TestEnrollBadInputRefused(t *testing.T) {
	s := newTestServer(t, nil)
	other := newTestServer(t, nil)
	ts := serveTLS(t, s)
	good := claim(t, s, 5, time.Hour)
	spent := claim(t, s, 1, time.Hour)
	if a := newBoard(t, "first").enroll(t, s, ts, spent); a.status != http.StatusCreated {
		t.Fatalf("enroll: %d %+v", a.status, a.err)
	}
	expired := claim(t, s, 1, time.Second)
	s.now = func() time.Time { return time.Now().Add(2 * time.Second) }

	b := newBoard(t, "pi-2")
	forged := b.csr(t, "first") // CN of another device
	tampered := tamperCSR(t, b.csr(t, "pi-2"), newBoard(t, "x"))
	enrollBody := func(dev, csr string) []byte { return mustJSON(t, EnrollRequest{Device: dev, CSR: csr}) }

	for _, tc := range []struct {
		name   string
		claim  string
		body   []byte
		status int
		code   string
	}{
		{"no claim", "", enrollBody("pi-2", b.csr(t, "pi-2")), 401, "invalid_claim"},
		{"garbage claim", "x.y.z", enrollBody("pi-2", b.csr(t, "pi-2")), 401, "invalid_claim"},
		{"claim of another fleet", claim(t, other, 5, time.Hour), enrollBody("pi-2", b.csr(t, "pi-2")), 403, "wrong_fleet"},
		{"expired claim", expired, enrollBody("pi-2", b.csr(t, "pi-2")), 401, "claim_expired"},
		{"replayed spent claim", spent, enrollBody("pi-2", b.csr(t, "pi-2")), 403, "claim_spent"},
		{"forged CSR CN", good, enrollBody("pi-2", forged), 400, "csr_mismatch"},
		{"CSR signed by another key", good, enrollBody("pi-2", tampered), 400, "invalid_csr"},
		{"CSR not PEM", good, enrollBody("pi-2", "hello"), 400, "invalid_csr"},
		{"bad device id", good, enrollBody("../x", b.csr(t, "../x")), 400, "invalid_device"},
		{"reserved device id", good, enrollBody("all", b.csr(t, "all")), 400, "invalid_device"},
		{"not JSON", good, []byte("{"), 400, "invalid_request"},
		{"unknown field", good, []byte(`{"device":"pi-2","csr":"","admin":true}`), 400, "invalid_request"},
		{"10 MB body", good, bytes.Repeat([]byte(" "), 10<<20), 413, "too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := countRows(t, s)
			c := b.client(s)
			defer c.CloseIdleConnections()
			a := post(t, c, ts.URL+"/enroll", tc.claim, tc.body)
			if a.status != tc.status || a.err.Error.Code != tc.code || a.err.Error.Message == "" {
				t.Errorf("%d %+v, want %d %s", a.status, a.err, tc.status, tc.code)
			}
			if after := countRows(t, s); after != before {
				t.Errorf("registry changed: %+v -> %+v", before, after)
			}
		})
	}
	log, err := s.reg.AuditLog(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if log[0].Action != "enroll" || !strings.Contains(log[0].Result, "too large") {
		t.Errorf("refusal not audited: %+v", log[0])
	}
}

// tamperCSR puts the public key of other into csr, keeping csr's
// signature: the CSR no longer verifies with its own key.
func tamperCSR(t *testing.T, csrPEM string, other *board) string {
	t.Helper()
	blk, _ := pem.Decode([]byte(csrPEM))
	otherBlk, _ := pem.Decode([]byte(other.csr(t, "x")))
	mine, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := x509.ParseCertificateRequest(otherBlk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	der := bytes.Replace(blk.Bytes, mine.RawSubjectPublicKeyInfo, theirs.RawSubjectPublicKeyInfo, 1)
	if bytes.Equal(der, blk.Bytes) {
		t.Fatal("tamper: key not found in the CSR")
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// A body over the limit is refused without being read: none of it when
// its Content-Length says so, at most the limit when it is chunked.
func TestEnrollLargeBodyNotRead(t *testing.T) {
	s := newTestServer(t, nil)
	tok := claim(t, s, 1, time.Hour)
	for _, length := range []int64{10 << 20, -1} {
		body := &countingReader{r: io.LimitReader(blanks{}, 10<<20)}
		req := httptest.NewRequest(http.MethodPost, "/enroll", body)
		req.ContentLength = length
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("Content-Length %d: %d %s", length, rec.Code, rec.Body)
		}
		limit := int64(0)
		if length < 0 {
			limit = MaxBody + 4096 // json.Decoder reads in blocks
		}
		if n := body.n.Load(); n > limit {
			t.Errorf("Content-Length %d: read %d bytes, want at most %d", length, n, limit)
		}
	}
}

// blanks is an endless JSON whitespace: a decoder reads on and on.
type blanks struct{}

func (blanks) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// 20 boards enroll at once with one claim of 20 uses, each with its own
// key over its own connection: all 20 get a certificate, the 21st is
// refused.
func TestTwentyBoardsOneClaim(t *testing.T) {
	s := newTestServer(t, nil)
	ts := serveTLS(t, s)
	tok := claim(t, s, 20, time.Hour, "hall")
	var wg sync.WaitGroup
	answers := make([]answer, 20)
	reqs := make([][]byte, 20)
	for i := range reqs {
		b := newBoard(t, fmt.Sprintf("pi-%02d", i))
		reqs[i] = mustJSON(t, EnrollRequest{Device: b.id, CSR: b.csr(t, b.id)})
	}
	for i, req := range reqs {
		wg.Go(func() {
			c := (*board)(nil).client(s)
			defer c.CloseIdleConnections()
			var err error
			if answers[i], err = tryPost(c, ts.URL+"/enroll", tok, req); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i, a := range answers {
		if a.status != http.StatusCreated {
			t.Errorf("board %d: %d %+v", i, a.status, a.err)
		}
	}
	if a := newBoard(t, "pi-20").enroll(t, s, ts, tok); a.status != http.StatusForbidden || a.err.Error.Code != "claim_spent" {
		t.Errorf("21st board: %d %+v, want 403 claim_spent", a.status, a.err)
	}
	if c := countRows(t, s); c.devices != 20 || c.usesLeft != 0 {
		t.Errorf("registry: %+v, want 20 devices and no use left", c)
	}
}
