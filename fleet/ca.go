package fleet

import (
	"github.com/onair-dev/onair/internal/atomicfile"

	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CA file names in the state directory: caFile holds the key and the
// certificate together (0600), so that one atomic write creates both;
// CACertFile is the certificate alone, for brokers and boards.
const (
	caFile     = "ca.pem"
	CACertFile = "ca.crt"
)

// caLifetime is how long the self-signed CA is valid.
const caLifetime = 20 * 365 * 24 * time.Hour

// clockSkew backdates every certificate's NotBefore so that a board whose
// clock is a little behind accepts it.
const clockSkew = 5 * time.Minute

// CA is the fleet's certificate authority: an ECDSA P-256 key and its
// self-signed certificate. It signs device and server certificates, the
// CRL and the claim tokens.
type CA struct {
	Cert    *x509.Certificate
	CertPEM []byte
	key     *ecdsa.PrivateKey
}

// LoadOrCreateCA loads the CA of the state directory dir, or creates it
// there (key and certificate in one file, 0600, written atomically) on
// first use. It also (re)writes the certificate alone to ca.crt (0644).
func LoadOrCreateCA(dir, fleetID string, now time.Time) (*CA, error) {
	path := filepath.Join(dir, caFile)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		data, err = newCAFile(fleetID, now)
		if err != nil {
			return nil, err
		}
		if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("ca: %w", err)
	}
	ca, err := parseCAFile(data)
	if err != nil {
		return nil, fmt.Errorf("ca: %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, CACertFile), ca.CertPEM, 0o644); err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	return ca, nil
}

// newCAFile makes a CA key and its self-signed certificate and returns
// them PEM encoded, key first.
func newCAFile(fleetID string, now time.Time) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ca: generate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "onair fleet " + fleetID + " CA", Organization: []string{"onair"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("ca: create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("ca: marshal key: %w", err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...), nil
}

// parseCAFile reads the key and the certificate of a CA file.
func parseCAFile(data []byte) (*CA, error) {
	ca := &CA{}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		switch b.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse key: %w", err)
			}
			ek, ok := k.(*ecdsa.PrivateKey)
			if !ok {
				return nil, errors.New("key is not ECDSA")
			}
			ca.key = ek
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse certificate: %w", err)
			}
			ca.Cert = c
			ca.CertPEM = pem.EncodeToMemory(b)
		}
	}
	if ca.key == nil || ca.Cert == nil {
		return nil, errors.New("want a PRIVATE KEY and a CERTIFICATE block")
	}
	if !ca.key.PublicKey.Equal(ca.Cert.PublicKey) {
		return nil, errors.New("key does not match the certificate")
	}
	return ca, nil
}

// Signer is the CA's private key, for the claim tokens and the CRL.
func (ca *CA) Signer() crypto.Signer { return ca.key }

// Pool returns a certificate pool holding the CA alone.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// IssueDevice signs a client certificate for device (its common name) with
// the public key of csr, valid from now for lifetime, usable for TLS
// client authentication only. It returns the parsed certificate and its
// PEM encoding. The caller has checked csr.
func (ca *CA) IssueDevice(csr *x509.CertificateRequest, device string, lifetime time.Duration, now time.Time) (*x509.Certificate, []byte, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: device},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     now.Add(lifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return ca.sign(tmpl, csr.PublicKey)
}

// IssueServer makes a new P-256 key and a server certificate for hosts (DNS
// names or IP addresses) valid from now for lifetime; it returns the
// certificate and the key, PEM encoded.
func (ca *CA) IssueServer(hosts []string, lifetime time.Duration, now time.Time) (certPEM, keyPEM []byte, err error) {
	if len(hosts) == 0 {
		return nil, nil, errors.New("ca: server certificate: no host")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: generate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     now.Add(lifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	_, certPEM, err = ca.sign(tmpl, key.Public())
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: marshal key: %w", err)
	}
	return certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

func (ca *CA) sign(tmpl *x509.Certificate, pub crypto.PublicKey) (*x509.Certificate, []byte, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: sign %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: sign %q: %w", tmpl.Subject.CommonName, err)
	}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// newSerial returns a random 128-bit certificate serial number (RFC 5280
// §4.1.2.2: positive, at most 20 octets).
func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("ca: serial: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// Fingerprint is the hex SHA-256 of a public key's DER SubjectPublicKeyInfo:
// what the registry remembers of the key a device enrolled with.
func Fingerprint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// CAFingerprint is the hex SHA-256 of the CA certificate's DER: a board
// pins it (it is in every claim) before it trusts the fleet server.
func (ca *CA) CAFingerprint() string {
	sum := sha256.Sum256(ca.Cert.Raw)
	return hex.EncodeToString(sum[:])
}
