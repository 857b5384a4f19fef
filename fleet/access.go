package fleet

import (
	"github.com/onair-dev/onair/internal/atomicfile"

	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"os/exec"
	"path/filepath"
	"time"
)

// CRLFile is the CRL's file name in the state directory.
const CRLFile = "crl.pem"

// ACLFile is the ACL's default file name in the state directory.
const ACLFile = "acl"

// crlValidity is how far ahead a CRL's NextUpdate lies. OpenSSL (so
// Mosquitto) refuses every client once a CRL is past it, so serve writes
// a new CRL every crlRefresh; a fleet server down for less than
// crlValidity - crlRefresh leaves the fleet connected.
const (
	crlValidity = 30 * 24 * time.Hour
	crlRefresh  = 24 * time.Hour
)

// CRL returns a CRL (RFC 5280 §5, PEM) of every revoked certificate not
// yet expired, signed by the CA, valid from now for crlValidity.
func (s *Server) CRL(ctx context.Context, now time.Time) ([]byte, error) {
	revoked, err := s.reg.RevokedCerts(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("crl: %w", err)
	}
	number, err := s.reg.NextCRLNumber(ctx)
	if err != nil {
		return nil, fmt.Errorf("crl: %w", err)
	}
	tmpl := &x509.RevocationList{
		Number:     big.NewInt(number),
		ThisUpdate: now.Add(-clockSkew),
		NextUpdate: now.Add(crlValidity),
	}
	for _, r := range revoked {
		serial, ok := new(big.Int).SetString(r.Serial, 16)
		if !ok {
			return nil, fmt.Errorf("crl: bad serial %q in the registry", r.Serial)
		}
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			x509.RevocationListEntry{SerialNumber: serial, RevocationTime: r.RevokedAt})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, s.ca.Cert, s.ca.Signer())
	if err != nil {
		return nil, fmt.Errorf("crl: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), nil
}

// ACL returns the Mosquitto ACL (mosquitto.conf(5) acl_file) of the fleet
// for Mosquitto with use_identity_as_username (certificate CN = user):
// operators read and write every topic; each device that is not revoked,
// D of groups G, reads P/D/cmd, P/all/cmd and P/group/G/cmd, reads and
// writes P/D/# and writes the replies to onair ctl (P/ctl/+/reply).
// Explicit "user" sections rather than "pattern" lines: a revoked device
// has no line at all, and the groups differ per device anyway.
func (s *Server) ACL(ctx context.Context) ([]byte, error) {
	devices, err := s.reg.Devices(ctx)
	if err != nil {
		return nil, fmt.Errorf("acl: %w", err)
	}
	p := s.cfg.Settings.TopicPrefix
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Mosquitto ACL of onair fleet %s, written by onair-fleet: edits are lost.\n", s.reg.FleetID())
	for _, op := range s.cfg.Operators {
		fmt.Fprintf(&b, "\nuser %s\ntopic readwrite #\n", op)
	}
	for _, d := range devices {
		if !d.RevokedAt.IsZero() {
			continue
		}
		fmt.Fprintf(&b, "\nuser %s\ntopic read %s/%s/cmd\ntopic read %s/all/cmd\n", d.ID, p, d.ID, p)
		for _, g := range d.Groups {
			fmt.Fprintf(&b, "topic read %s/group/%s/cmd\n", p, g)
		}
		fmt.Fprintf(&b, "topic readwrite %s/%s/#\ntopic write %s/ctl/+/reply\n", p, d.ID, p)
	}
	return b.Bytes(), nil
}

// WriteAccessFiles writes the CRL (to <state_dir>/crl.pem and crl_file)
// and the ACL (acl_file) atomically, readable by the broker's user, then
// runs reload_command.
func (s *Server) WriteAccessFiles(ctx context.Context) error {
	s.accessMu.Lock()
	defer s.accessMu.Unlock()
	crl, err := s.CRL(ctx, s.now())
	if err != nil {
		return err
	}
	acl, err := s.ACL(ctx)
	if err != nil {
		return err
	}
	files := map[string][]byte{filepath.Join(s.cfg.StateDir, CRLFile): crl, s.aclPath(): acl}
	if s.cfg.CRLFile != "" {
		files[s.cfg.CRLFile] = crl
	}
	for path, data := range files {
		if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("access files: %w", err)
		}
	}
	if len(s.cfg.ReloadCommand) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, s.cfg.ReloadCommand[0], s.cfg.ReloadCommand[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("access files: reload command %q: %w: %s", s.cfg.ReloadCommand, err, bytes.TrimSpace(out))
	}
	return nil
}

func (s *Server) aclPath() string {
	if s.cfg.ACLFile != "" {
		return s.cfg.ACLFile
	}
	return filepath.Join(s.cfg.StateDir, ACLFile)
}
