package fleet

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Claim is a claim as the registry keeps it.
type Claim struct {
	ID        string
	Uses      int // uses it was made with
	UsesLeft  int
	ExpiresAt time.Time
	Groups    []string
}

// Device is an enrolled device as the registry keeps it.
type Device struct {
	ID          string
	Fingerprint string
	Groups      []string
	ClaimID     string
	Serial      string
	CertPEM     string
	NotAfter    time.Time
	EnrolledAt  time.Time
	RenewedAt   time.Time // zero if never renewed
	RevokedAt   time.Time // zero if not revoked
	Readmitted  bool
}

// Issuer signs the certificate of a device; the registry calls it inside
// the transaction that records it, so a certificate is either issued and
// recorded or neither.
type Issuer func() (*x509.Certificate, []byte, error)

// AddClaim records a new claim; who is the operator who made it.
func (r *Registry) AddClaim(ctx context.Context, c Claim, who string, now time.Time) error {
	err := r.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO claims (id, uses, uses_left, expires_at, groups, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, c.ID, c.Uses, c.Uses, c.ExpiresAt.Unix(), encodeGroups(c.Groups), now.Unix(), who); err != nil {
			return err
		}
		return audit(ctx, tx, now, who, "claim", c.ID, nil, fmt.Sprintf("uses=%d expires=%s groups=%v", c.Uses, c.ExpiresAt.UTC().Format(time.RFC3339), c.Groups))
	})
	if err != nil {
		return fmt.Errorf("registry: add claim: %w", err)
	}
	return nil
}

// Claim returns the claim id.
func (r *Registry) Claim(ctx context.Context, id string) (Claim, error) {
	c, err := getClaim(ctx, r.db, id)
	if err != nil {
		return c, fmt.Errorf("registry: claim %s: %w", id, err)
	}
	return c, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getClaim(ctx context.Context, q querier, id string) (Claim, error) {
	c := Claim{ID: id}
	var exp int64
	var groups string
	err := q.QueryRowContext(ctx, `SELECT uses, uses_left, expires_at, groups FROM claims WHERE id = ?`, id).
		Scan(&c.Uses, &c.UsesLeft, &exp, &groups)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrClaimUnknown
	}
	c.ExpiresAt, c.Groups = time.Unix(exp, 0), decodeGroups(groups)
	return c, err
}

// Enrollment is one enrollment for the registry to record.
type Enrollment struct {
	Device      string
	ClaimID     string
	Fingerprint string // of the key in the CSR
	Now         time.Time
	Issue       Issuer
}

// Enroll records the enrollment e in one transaction: it checks the claim
// (known, unexpired, a use left) and the device (not revoked, not enrolled
// with another key unless readmitted), spends one use of the claim,
// issues the certificate and records device, certificate and audit entry.
//
// A device already enrolled with the same key (the same fingerprint) gets
// a new certificate without spending a use: a board that lost its
// certificate, or retried a request whose answer it never received, does
// not use up the claim. The claim must still be valid and unexpired.
func (r *Registry) Enroll(ctx context.Context, e Enrollment) (Device, error) {
	var d Device
	err := r.tx(ctx, func(tx *sql.Tx) error {
		c, err := getClaim(ctx, tx, e.ClaimID)
		if err != nil {
			return err
		}
		if !e.Now.Before(c.ExpiresAt) {
			return ErrClaimExpired
		}
		old, err := getDevice(ctx, tx, e.Device)
		exists := err == nil
		if err != nil && !errors.Is(err, ErrUnknownDevice) {
			return err
		}
		same := exists && old.Fingerprint == e.Fingerprint
		switch {
		case exists && !old.RevokedAt.IsZero():
			return ErrRevoked
		case exists && !same && !old.Readmitted:
			return ErrKeyConflict
		}
		groups, claimID := c.Groups, c.ID
		if same {
			groups, claimID = old.Groups, old.ClaimID
		} else {
			res, err := tx.ExecContext(ctx, `UPDATE claims SET uses_left = uses_left - 1 WHERE id = ? AND uses_left > 0`, c.ID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return ErrClaimSpent
			}
		}
		cert, pemBytes, err := e.Issue()
		if err != nil {
			return err
		}
		d = Device{ID: e.Device, Fingerprint: e.Fingerprint, Groups: groups, ClaimID: claimID,
			Serial: cert.SerialNumber.Text(16), CertPEM: string(pemBytes), NotAfter: cert.NotAfter, EnrolledAt: e.Now}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO devices
			(id, fingerprint, groups, claim_id, serial, cert, not_after, enrolled_at, readmitted)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)`,
			d.ID, d.Fingerprint, encodeGroups(d.Groups), d.ClaimID, d.Serial, d.CertPEM, d.NotAfter.Unix(), d.EnrolledAt.Unix()); err != nil {
			return err
		}
		if err := insertCert(ctx, tx, d, e.Now); err != nil {
			return err
		}
		return audit(ctx, tx, e.Now, "device:"+e.Device, "enroll", e.Device, nil,
			fmt.Sprintf("claim=%s serial=%s fingerprint=%s reenroll=%t", c.ID, d.Serial, d.Fingerprint, same))
	})
	if err != nil {
		return d, fmt.Errorf("registry: enroll %s: %w", e.Device, err)
	}
	return d, nil
}

// Renewal is one renewal for the registry to record.
type Renewal struct {
	Device      string
	Serial      string // of the certificate the device presented
	Fingerprint string // of the key in the CSR
	Now         time.Time
	Issue       Issuer
}

// Renew records the renewal e in one transaction: the device must be
// enrolled and not revoked, and the certificate it presented one the
// registry issued to it and did not revoke. The key may change.
func (r *Registry) Renew(ctx context.Context, e Renewal) (Device, error) {
	var d Device
	err := r.tx(ctx, func(tx *sql.Tx) error {
		old, err := getDevice(ctx, tx, e.Device)
		if err != nil {
			return err
		}
		if !old.RevokedAt.IsZero() {
			return ErrRevoked
		}
		var owner string
		var revoked sql.NullInt64
		err = tx.QueryRowContext(ctx, `SELECT device, revoked_at FROM certs WHERE serial = ?`, e.Serial).Scan(&owner, &revoked)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%w: certificate %s not issued by this registry", ErrNoCertificate, e.Serial)
		case err != nil:
			return err
		case owner != e.Device || revoked.Valid:
			return fmt.Errorf("%w: certificate %s revoked or not the device's", ErrNoCertificate, e.Serial)
		}
		cert, pemBytes, err := e.Issue()
		if err != nil {
			return err
		}
		d = old
		d.Fingerprint, d.Serial, d.CertPEM, d.NotAfter, d.RenewedAt = e.Fingerprint, cert.SerialNumber.Text(16), string(pemBytes), cert.NotAfter, e.Now
		if _, err := tx.ExecContext(ctx, `UPDATE devices SET fingerprint = ?, serial = ?, cert = ?, not_after = ?, renewed_at = ? WHERE id = ?`,
			d.Fingerprint, d.Serial, d.CertPEM, d.NotAfter.Unix(), e.Now.Unix(), d.ID); err != nil {
			return err
		}
		if err := insertCert(ctx, tx, d, e.Now); err != nil {
			return err
		}
		return audit(ctx, tx, e.Now, "device:"+e.Device, "renew", e.Device, nil,
			fmt.Sprintf("old_serial=%s serial=%s fingerprint=%s", e.Serial, d.Serial, d.Fingerprint))
	})
	if err != nil {
		return d, fmt.Errorf("registry: renew %s: %w", e.Device, err)
	}
	return d, nil
}

func insertCert(ctx context.Context, tx *sql.Tx, d Device, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO certs (serial, device, not_after, issued_at) VALUES (?, ?, ?, ?)`,
		d.Serial, d.ID, d.NotAfter.Unix(), now.Unix())
	return err
}

// Revoke marks device revoked, with every certificate issued to it, and
// audits it as done by who. Revoking a revoked device is a no-op.
func (r *Registry) Revoke(ctx context.Context, device, who string, now time.Time) error {
	return r.operatorChange(ctx, device, who, "revoke", now, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE devices SET revoked_at = COALESCE(revoked_at, ?), readmitted = 0 WHERE id = ?`, now.Unix(), device); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE certs SET revoked_at = ? WHERE device = ? AND revoked_at IS NULL`, now.Unix(), device)
		return err
	})
}

// Readmit lets device enroll again, with a new claim and possibly a new
// key: it lifts a revocation (the certificates revoked stay revoked) and
// allows one enrollment with another key.
func (r *Registry) Readmit(ctx context.Context, device, who string, now time.Time) error {
	return r.operatorChange(ctx, device, who, "readmit", now, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE devices SET revoked_at = NULL, readmitted = 1 WHERE id = ?`, device)
		return err
	})
}

// operatorChange runs change on an enrolled device in one transaction with
// its audit entry; a refusal is audited too.
func (r *Registry) operatorChange(ctx context.Context, device, who, action string, now time.Time, change func(*sql.Tx) error) error {
	err := r.tx(ctx, func(tx *sql.Tx) error {
		if _, err := getDevice(ctx, tx, device); err != nil {
			return err
		}
		if err := change(tx); err != nil {
			return err
		}
		return audit(ctx, tx, now, who, action, device, nil, "")
	})
	if err != nil {
		_ = audit(ctx, r.db, now, who, action, device, err, "")
		return fmt.Errorf("registry: %s %s: %w", action, device, err)
	}
	return nil
}

const deviceColumns = `id, fingerprint, groups, claim_id, serial, cert, not_after, enrolled_at, renewed_at, revoked_at, readmitted`

type scanner interface{ Scan(dest ...any) error }

func scanDevice(s scanner) (Device, error) {
	var d Device
	var groups string
	var notAfter, enrolled int64
	var renewed, revoked sql.NullInt64
	err := s.Scan(&d.ID, &d.Fingerprint, &groups, &d.ClaimID, &d.Serial, &d.CertPEM, &notAfter, &enrolled, &renewed, &revoked, &d.Readmitted)
	d.Groups, d.NotAfter, d.EnrolledAt = decodeGroups(groups), time.Unix(notAfter, 0), time.Unix(enrolled, 0)
	d.RenewedAt, d.RevokedAt = nullTime(renewed), nullTime(revoked)
	return d, err
}

func getDevice(ctx context.Context, q querier, id string) (Device, error) {
	d, err := scanDevice(q.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrUnknownDevice
	}
	return d, err
}

// Device returns the device id.
func (r *Registry) Device(ctx context.Context, id string) (Device, error) {
	d, err := getDevice(ctx, r.db, id)
	if err != nil {
		return d, fmt.Errorf("registry: device %s: %w", id, err)
	}
	return d, nil
}

// Devices returns every device, revoked ones included, sorted by id.
func (r *Registry) Devices(ctx context.Context) ([]Device, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+deviceColumns+` FROM devices ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("registry: devices: %w", err)
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("registry: devices: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// RevokedCert is a revoked certificate not yet expired: an entry of the CRL.
type RevokedCert struct {
	Serial    string // hex
	RevokedAt time.Time
}

// RevokedCerts returns the revoked certificates that have not expired at now.
func (r *Registry) RevokedCerts(ctx context.Context, now time.Time) ([]RevokedCert, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT serial, revoked_at FROM certs WHERE revoked_at IS NOT NULL AND not_after > ? ORDER BY serial`, now.Unix())
	if err != nil {
		return nil, fmt.Errorf("registry: revoked certificates: %w", err)
	}
	defer rows.Close()
	var out []RevokedCert
	for rows.Next() {
		var c RevokedCert
		var at int64
		if err := rows.Scan(&c.Serial, &at); err != nil {
			return nil, fmt.Errorf("registry: revoked certificates: %w", err)
		}
		c.RevokedAt = time.Unix(at, 0)
		out = append(out, c)
	}
	return out, rows.Err()
}

// NextCRLNumber returns the next CRL number (RFC 5280 §5.2.3: it only
// grows), counting in the registry.
func (r *Registry) NextCRLNumber(ctx context.Context) (int64, error) {
	var n int64
	err := r.tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO meta (key, value) VALUES ('crl_number', '1')
			ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING CAST(value AS INTEGER)`).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("registry: crl number: %w", err)
	}
	return n, nil
}
