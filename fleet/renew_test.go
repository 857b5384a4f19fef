package fleet

import (
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRenewOverMutualTLS(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.CertLifetime = Duration(2 * time.Minute) })
	ts := serveTLS(t, s)
	b := newBoard(t, "pi-1")
	if a := b.enroll(t, s, ts, claim(t, s, 1, time.Hour, "lab")); a.status != http.StatusCreated {
		t.Fatalf("enroll: %d %+v", a.status, a.err)
	}
	first := b.cert.Certificate[0]
	a := b.renew(t, s, ts)
	if a.status != http.StatusOK {
		t.Fatalf("renew: %d %+v", a.status, a.err)
	}
	if string(b.cert.Certificate[0]) == string(first) || a.issued.Settings.Groups[0] != "lab" {
		t.Errorf("renew answered the same certificate, or lost the groups: %+v", a.issued.Settings)
	}

	// A new key in the CSR, the TLS handshake still with the current
	// certificate and its key: the registry follows the new key.
	b.key = newBoard(t, "pi-1").key
	if a := b.renew(t, s, ts); a.status != http.StatusOK {
		t.Fatalf("renew with a new key: %d %+v", a.status, a.err)
	}
	d, err := s.reg.Device(t.Context(), "pi-1")
	if err != nil {
		t.Fatal(err)
	}
	if fp, _ := Fingerprint(b.key.Public()); d.Fingerprint != fp {
		t.Errorf("registry fingerprint %s, want the new key's %s", d.Fingerprint, fp)
	}

	if a := (&board{id: "pi-1", key: b.key}).renew(t, s, ts); a.status != http.StatusUnauthorized || a.err.Error.Code != "certificate_required" {
		t.Errorf("renew without a certificate: %d %+v", a.status, a.err)
	}
	// Past its lifetime the certificate no longer renews: a new claim is needed.
	s.now = func() time.Time { return time.Now().Add(3 * time.Minute) }
	if a := b.renew(t, s, ts); a.status != http.StatusUnauthorized || !strings.Contains(a.err.Error.Message, "new claim") {
		t.Errorf("renew with an expired certificate: %d %+v", a.status, a.err)
	}
	s.now = time.Now
	// A certificate of another fleet does not renew.
	other := newTestServer(t, nil)
	stranger := newBoard(t, "pi-1")
	if a := stranger.enroll(t, other, serveTLS(t, other), claim(t, other, 1, time.Hour)); a.status != http.StatusCreated {
		t.Fatalf("enroll at the other fleet: %d %+v", a.status, a.err)
	}
	if a := stranger.renew(t, s, ts); a.status != http.StatusUnauthorized {
		t.Errorf("renew with another fleet's certificate: %d %+v", a.status, a.err)
	}
}

func TestRevokeRefusesAndPublishesCRL(t *testing.T) {
	crlOut := filepath.Join(t.TempDir(), "mosquitto-crl.pem")
	s := newTestServer(t, func(c *Config) { c.CRLFile = crlOut })
	ts := serveTLS(t, s)
	tok := claim(t, s, 3, time.Hour)
	b := newBoard(t, "pi-1")
	if a := b.enroll(t, s, ts, tok); a.status != http.StatusCreated {
		t.Fatalf("enroll: %d %+v", a.status, a.err)
	}
	if a := b.renew(t, s, ts); a.status != http.StatusOK {
		t.Fatalf("renew: %d %+v", a.status, a.err)
	}
	keep := newBoard(t, "pi-2")
	if a := keep.enroll(t, s, ts, tok); a.status != http.StatusCreated {
		t.Fatalf("enroll: %d %+v", a.status, a.err)
	}
	if err := s.Revoke(t.Context(), "pi-1", "operator:test"); err != nil {
		t.Fatal(err)
	}
	if a := b.renew(t, s, ts); a.status != http.StatusForbidden || a.err.Error.Code != "revoked" {
		t.Errorf("renew after revoke: %d %+v", a.status, a.err)
	}
	if a := b.enroll(t, s, ts, tok); a.status != http.StatusForbidden || a.err.Error.Code != "revoked" {
		t.Errorf("enroll after revoke: %d %+v", a.status, a.err)
	}
	for _, path := range []string{filepath.Join(s.cfg.StateDir, CRLFile), crlOut} {
		crl := readCRL(t, path)
		if err := crl.CheckSignatureFrom(s.ca.Cert); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		revoked := map[string]bool{}
		for _, e := range crl.RevokedCertificateEntries {
			revoked[e.SerialNumber.Text(16)] = true
		}
		// Both certificates of pi-1 (enrolled, renewed), none of pi-2.
		if len(revoked) != 2 || !revoked[serialOf(t, b)] || revoked[serialOf(t, keep)] {
			t.Errorf("%s: revoked %v", path, revoked)
		}
		if crl.Number.Cmp(big.NewInt(1)) < 0 {
			t.Errorf("%s: CRL number %v", path, crl.Number)
		}
	}
	acl, err := os.ReadFile(filepath.Join(s.cfg.StateDir, ACLFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(acl), "user pi-1\n") || !strings.Contains(string(acl), "user pi-2\n") {
		t.Errorf("ACL after revoking pi-1:\n%s", acl)
	}

	// Readmitted, it enrolls again with a new claim; its old certificates
	// stay revoked.
	if err := s.Readmit(t.Context(), "pi-1", "operator:test"); err != nil {
		t.Fatal(err)
	}
	if a := b.enroll(t, s, ts, tok); a.status != http.StatusCreated {
		t.Fatalf("enroll after readmit: %d %+v", a.status, a.err)
	}
	crl, err := s.CRL(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(crl)
	rl, err := x509.ParseRevocationList(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(rl.RevokedCertificateEntries) != 2 {
		t.Errorf("after readmit: %d revoked, want the 2 old ones", len(rl.RevokedCertificateEntries))
	}
	log, err := s.reg.AuditLog(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		if e.Result == "ok" {
			actions = append(actions, e.Who+" "+e.Action)
		}
	}
	want := "operator:test claim,device:pi-1 enroll,device:pi-1 renew,device:pi-2 enroll,operator:test revoke,operator:test readmit,device:pi-1 enroll"
	if strings.Join(actions, ",") != want {
		t.Errorf("audit log:\n%s\nwant\n%s", strings.Join(actions, ","), want)
	}
}

func readCRL(t *testing.T, path string) *x509.RevocationList {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(data)
	if blk == nil || blk.Type != "X509 CRL" {
		t.Fatalf("%s: not a PEM CRL", path)
	}
	crl, err := x509.ParseRevocationList(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return crl
}

func serialOf(t *testing.T, b *board) string {
	t.Helper()
	c, err := x509.ParseCertificate(b.cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return c.SerialNumber.Text(16)
}
