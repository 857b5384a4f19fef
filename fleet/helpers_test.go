package fleet

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// newTestServer opens a fleet in a temporary state directory; edit changes
// the configuration first.
func newTestServer(t *testing.T, edit func(*Config)) *Server {
	t.Helper()
	cfg := Defaults()
	cfg.StateDir = t.TempDir()
	cfg.Settings.Uplink = Uplink{WHIPURL: "https://media.example/whip/{channel}", WHEPURL: "https://media.example/whep/{channel}"}
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// serveTLS serves s's handler over HTTPS on loopback with s's TLS config.
func serveTLS(t *testing.T, s *Server) *httptest.Server {
	t.Helper()
	conf, err := s.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(s.Handler())
	ts.TLS = conf
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts
}

// claim makes a claim of s.
func claim(t *testing.T, s *Server, uses int, ttl time.Duration, groups ...string) string {
	t.Helper()
	tok, _, err := s.NewClaim(context.Background(), uses, ttl, groups, "operator:test")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// board is what a board does to enroll: its own key, its device id.
type board struct {
	id   string
	key  *ecdsa.PrivateKey
	cert tls.Certificate // after enroll
}

func newBoard(t *testing.T, id string) *board {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &board{id: id, key: key}
}

// csr returns a PEM CSR of the board's key with common name cn.
func (b *board) csr(t *testing.T, cn string) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, b.key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// answer is an HTTP answer of the fleet server, decoded.
type answer struct {
	status int
	issued Issued
	err    ErrorBody
}

// post POSTs body to url with the client c (and the claim, if any).
func post(t *testing.T, c *http.Client, url, claim string, body []byte) answer {
	t.Helper()
	a, err := tryPost(c, url, claim, body)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// tryPost is post for a goroutine, or where a failure is expected.
func tryPost(c *http.Client, url, claim string, body []byte) (answer, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if claim != "" {
		req.Header.Set("Authorization", "Bearer "+claim)
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("post %s: %w", url, err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return a, fmt.Errorf("post %s: %w", url, err)
	}
	target := any(&a.issued)
	if resp.StatusCode >= 300 {
		target = &a.err
	}
	if err := json.Unmarshal(data, target); err != nil {
		return a, fmt.Errorf("post %s: %d %q: %w", url, resp.StatusCode, data, err)
	}
	return a, nil
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// client returns an HTTPS client trusting s's CA, presenting the board's
// certificate when it has one.
func (b *board) client(s *Server) *http.Client { return b.clientWith(s.ca.Pool()) }

// enroll enrolls the board at ts with claim and keeps its certificate.
func (b *board) enroll(t *testing.T, s *Server, ts *httptest.Server, claim string) answer {
	t.Helper()
	c := b.client(s)
	defer c.CloseIdleConnections()
	a := post(t, c, ts.URL+"/enroll", claim, mustJSON(t, EnrollRequest{Device: b.id, CSR: b.csr(t, b.id)}))
	if a.status == http.StatusCreated {
		b.keep(t, a.issued.Certificate)
	}
	return a
}

// renew renews the board's certificate at ts over mutual TLS.
func (b *board) renew(t *testing.T, s *Server, ts *httptest.Server) answer {
	t.Helper()
	c := b.client(s)
	defer c.CloseIdleConnections()
	a := post(t, c, ts.URL+"/renew", "", mustJSON(t, RenewRequest{CSR: b.csr(t, b.id)}))
	if a.status == http.StatusOK {
		b.keep(t, a.issued.Certificate)
	}
	return a
}

func (b *board) keep(t *testing.T, certPEM string) {
	t.Helper()
	keyDER, err := x509.MarshalPKCS8PrivateKey(b.key)
	if err != nil {
		t.Fatal(err)
	}
	b.cert, err = tls.X509KeyPair([]byte(certPEM), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
}

// counts are the registry's rows that a refused request must not change.
type counts struct{ devices, certs, usesLeft int }

func countRows(t *testing.T, s *Server) counts {
	t.Helper()
	var c counts
	db := s.reg.db
	for q, v := range map[string]*int{
		`SELECT COUNT(*) FROM devices`:                   &c.devices,
		`SELECT COUNT(*) FROM certs`:                     &c.certs,
		`SELECT COALESCE(SUM(uses_left), 0) FROM claims`: &c.usesLeft,
	} {
		if err := db.QueryRow(q).Scan(v); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// clientWith returns an HTTPS client trusting roots, presenting the
// board's certificate when it has one.
func (b *board) clientWith(roots *x509.CertPool) *http.Client {
	conf := &tls.Config{RootCAs: roots}
	if b != nil && b.cert.Certificate != nil {
		conf.Certificates = []tls.Certificate{b.cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: conf}}
}
