package fleet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// MaxBody is the largest request body /enroll and /renew read; a larger
// one is refused with 413, without reading it when its Content-Length
// says so.
const MaxBody = 64 << 10

// EnrollRequest is the body of POST /enroll.
type EnrollRequest struct {
	Device string `json:"device"`
	CSR    string `json:"csr"` // PEM "CERTIFICATE REQUEST"
}

// RenewRequest is the body of POST /renew.
type RenewRequest struct {
	CSR string `json:"csr"`
}

// Issued is the answer of /enroll (201) and /renew (200).
type Issued struct {
	Certificate string   `json:"certificate"` // PEM, CN = device id
	CA          string   `json:"ca"`          // PEM chain up to the fleet's CA
	Settings    Settings `json:"settings"`
}

// Handler serves POST /enroll, POST /renew, GET /ca.crt and GET /crl.pem.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /enroll", s.handleEnroll)
	mux.HandleFunc("POST /renew", s.handleRenew)
	mux.HandleFunc("GET /ca.crt", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(s.ca.CertPEM)
	})
	mux.HandleFunc("GET /crl.pem", func(w http.ResponseWriter, r *http.Request) {
		crl, err := s.CRL(r.Context(), s.now())
		if err != nil {
			s.writeError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(crl)
	})
	return mux
}

// handleEnroll enrolls a device with a claim: Authorization: Bearer
// <claim>, body EnrollRequest. The claim is checked first (fleet,
// signature, expiry), then the body (device id, CSR signature, CSR CN =
// device), then, in one transaction, the claim's uses and the device's
// key (Registry.Enroll). A refusal changes nothing but the audit log.
func (s *Server) handleEnroll(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	var req EnrollRequest
	var claimID string
	d, err := func() (Device, error) {
		var err error
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			return Device{}, fmt.Errorf("%w: no Authorization: Bearer <claim>", ErrBadClaim)
		}
		if claimID, err = VerifyClaim(token, s.ca, s.reg.FleetID(), now); err != nil {
			return Device{}, err
		}
		if err := readJSON(w, r, &req); err != nil {
			return Device{}, err
		}
		if err := CheckDeviceID(req.Device); err != nil {
			return Device{}, err
		}
		csr, fp, err := parseCSR(req.CSR, req.Device)
		if err != nil {
			return Device{}, err
		}
		return s.reg.Enroll(r.Context(), Enrollment{Device: req.Device, ClaimID: claimID, Fingerprint: fp, Now: now,
			Issue: s.issuer(csr, req.Device, now)})
	}()
	if err != nil {
		s.refused(r.Context(), "enroll", req.Device, err, "claim="+claimID+" from="+r.RemoteAddr)
		s.writeError(w, err)
		return
	}
	s.log.Info("enrolled", "device", d.ID, "serial", d.Serial, "groups", d.Groups, "not_after", d.NotAfter)
	s.accessChanged()
	s.writeIssued(w, http.StatusCreated, d)
}

// handleRenew renews a device's certificate over mutual TLS: the client
// certificate must be one the CA issued, unexpired, to a device that is
// enrolled, not revoked, and holds it; body RenewRequest, whose CSR (CN =
// the device) may carry the same key or a new one. An expired certificate
// is refused: the board needs a new claim.
func (s *Server) handleRenew(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	device := ""
	d, err := func() (Device, error) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return Device{}, fmt.Errorf("%w: present the current device certificate", ErrNoCertificate)
		}
		leaf := r.TLS.PeerCertificates[0]
		inter := x509.NewCertPool()
		for _, c := range r.TLS.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: s.ca.Pool(), Intermediates: inter,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: now}); err != nil {
			return Device{}, fmt.Errorf("%w: %w (an expired certificate needs a new claim)", ErrNoCertificate, err)
		}
		device = leaf.Subject.CommonName
		if err := CheckDeviceID(device); err != nil {
			return Device{}, err
		}
		var req RenewRequest
		if err := readJSON(w, r, &req); err != nil {
			return Device{}, err
		}
		csr, fp, err := parseCSR(req.CSR, device)
		if err != nil {
			return Device{}, err
		}
		return s.reg.Renew(r.Context(), Renewal{Device: device, Serial: leaf.SerialNumber.Text(16), Fingerprint: fp, Now: now,
			Issue: s.issuer(csr, device, now)})
	}()
	if err != nil {
		s.refused(r.Context(), "renew", device, err, "from="+r.RemoteAddr)
		s.writeError(w, err)
		return
	}
	s.log.Info("renewed", "device", d.ID, "serial", d.Serial, "not_after", d.NotAfter)
	s.writeIssued(w, http.StatusOK, d)
}

// issuer signs the certificate of device for the key of csr.
func (s *Server) issuer(csr *x509.CertificateRequest, device string, now time.Time) Issuer {
	return func() (*x509.Certificate, []byte, error) {
		return s.ca.IssueDevice(csr, device, time.Duration(s.cfg.CertLifetime), now)
	}
}

// refused audits a refused request; the subject is the device it named.
func (s *Server) refused(ctx context.Context, action, device string, err error, detail string) {
	who := "device:" + device
	if device == "" {
		who = "anonymous"
	}
	if aerr := s.reg.Audit(ctx, who, action, device, err, detail); aerr != nil {
		s.log.Error("audit", "error", aerr)
	}
	s.log.Warn(action+" refused", "device", device, "error", err, "detail", detail)
}

func (s *Server) writeIssued(w http.ResponseWriter, status int, d Device) {
	settings := s.cfg.Settings
	settings.Groups = d.Groups
	if settings.Groups == nil {
		settings.Groups = []string{}
	}
	writeJSON(w, status, Issued{Certificate: d.CertPEM, CA: string(s.ca.CertPEM), Settings: settings})
}

// parseCSR parses a PEM CSR, checks its signature against its own public
// key (PKCS #10, RFC 2986 §4.2), that the key is ECDSA P-256 and that its
// common name is device, and returns it with the key's fingerprint.
func parseCSR(p, device string) (*x509.CertificateRequest, string, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil || b.Type != "CERTIFICATE REQUEST" {
		return nil, "", fmt.Errorf("%w: want a PEM CERTIFICATE REQUEST", ErrBadCSR)
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrBadCSR, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, "", fmt.Errorf("%w: signature: %w", ErrBadCSR, err)
	}
	if k, ok := csr.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		return nil, "", fmt.Errorf("%w: the key must be ECDSA P-256", ErrBadCSR)
	}
	if csr.Subject.CommonName != device {
		return nil, "", fmt.Errorf("%w: %q, device %q", ErrCSRMismatch, csr.Subject.CommonName, device)
	}
	fp, err := Fingerprint(csr.PublicKey)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrBadCSR, err)
	}
	return csr, fp, nil
}

// readJSON decodes the body of r into v, refusing a body over MaxBody
// (before reading any of it when Content-Length says so), unknown fields
// and trailing data.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength > MaxBody {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, r.ContentLength, MaxBody)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("data after the JSON object")
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return fmt.Errorf("%w: at most %d bytes", ErrTooLarge, MaxBody)
	case err != nil:
		return fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return nil
}
