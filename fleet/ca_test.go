package fleet

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCACreatedOnceThenLoaded(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	ca, err := LoadOrCreateCA(dir, "f-1", now)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, caFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("ca key mode %v, want 0600", st.Mode().Perm())
	}
	if !ca.Cert.IsCA || ca.Cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA certificate: IsCA %v, key usage %v", ca.Cert.IsCA, ca.Cert.KeyUsage)
	}
	again, err := LoadOrCreateCA(dir, "f-1", now)
	if err != nil {
		t.Fatal(err)
	}
	if !again.key.Equal(ca.key) || !again.Cert.Equal(ca.Cert) {
		t.Fatal("second LoadOrCreateCA made a new CA")
	}
	crt, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	if string(crt) != string(ca.CertPEM) {
		t.Error("ca.crt is not the CA certificate")
	}
}

func TestCAIssuesDeviceAndServerCertificates(t *testing.T) {
	ca, err := LoadOrCreateCA(t.TempDir(), "f-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	b := newBoard(t, "pi-7")
	blk, _ := pem.Decode([]byte(b.csr(t, "pi-7")))
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	cert, _, err := ca.IssueDevice(csr, "pi-7", 2*time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "pi-7" || !b.key.PublicKey.Equal(cert.PublicKey) {
		t.Errorf("device certificate CN %q, key of the CSR %v", cert.Subject.CommonName, cert.PublicKey)
	}
	if got := cert.NotAfter.Sub(now.Truncate(time.Second)); got != 2*time.Minute {
		t.Errorf("lifetime %s, want 2m", got)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("device certificate as a client: %v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("device certificate verifies as a server certificate")
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: now.Add(3 * time.Minute),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("device certificate verifies after its lifetime")
	}

	certPEM, keyPEM, err := ca.IssueServer([]string{"127.0.0.1", "broker.example"}, time.Hour, now)
	if err != nil || len(keyPEM) == 0 {
		t.Fatal(err)
	}
	blk, _ = pem.Decode(certPEM)
	srv, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"127.0.0.1", "broker.example"} {
		if _, err := srv.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: h}); err != nil {
			t.Errorf("server certificate for %s: %v", h, err)
		}
	}
}
