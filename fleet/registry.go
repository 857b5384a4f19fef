package fleet

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// DBFile is the registry's file name in the state directory.
const DBFile = "fleet.db"

// schema is the registry. Times are Unix seconds; groups are JSON arrays.
// certs holds every certificate issued, for the CRL.
const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS claims (
	id TEXT PRIMARY KEY,
	uses INTEGER NOT NULL,
	uses_left INTEGER NOT NULL CHECK (uses_left >= 0),
	expires_at INTEGER NOT NULL,
	groups TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	created_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
	id TEXT PRIMARY KEY,
	fingerprint TEXT NOT NULL,
	groups TEXT NOT NULL,
	claim_id TEXT NOT NULL REFERENCES claims(id),
	serial TEXT NOT NULL,
	cert TEXT NOT NULL,
	not_after INTEGER NOT NULL,
	enrolled_at INTEGER NOT NULL,
	renewed_at INTEGER,
	revoked_at INTEGER,
	readmitted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS certs (
	serial TEXT PRIMARY KEY,
	device TEXT NOT NULL,
	not_after INTEGER NOT NULL,
	issued_at INTEGER NOT NULL,
	revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS audit (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	at INTEGER NOT NULL,
	who TEXT NOT NULL,
	action TEXT NOT NULL,
	subject TEXT NOT NULL,
	result TEXT NOT NULL,
	detail TEXT NOT NULL DEFAULT ''
);
`

// Registry is the fleet's SQLite database: its id, claims, devices,
// certificates and audit log. It is safe for concurrent use, also by
// several processes (the server and the operator's commands).
type Registry struct {
	db      *sql.DB
	fleetID string
}

// OpenRegistry opens (creating it if needed) the registry at path, in WAL
// mode with full fsync, and makes the fleet's random id on first use.
func OpenRegistry(ctx context.Context, path string) (*Registry, error) {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	// BEGIN IMMEDIATE: a transaction takes the write lock at its start, so
	// two writers queue on busy_timeout instead of failing on the upgrade
	// of a read lock.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("registry: open %s: %w", path, err)
	}
	r := &Registry{db: db}
	if err := r.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("registry: open %s: %w", path, err)
	}
	return r, nil
}

func (r *Registry) init(ctx context.Context) error {
	return r.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return fmt.Errorf("schema: %w", err)
		}
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'fleet_id'`).Scan(&r.fleetID)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		r.fleetID, err = randomID("f-")
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('fleet_id', ?)`, r.fleetID)
		return err
	})
}

// Close closes the database.
func (r *Registry) Close() error { return r.db.Close() }

// FleetID is this fleet's random id, made when the registry was created.
func (r *Registry) FleetID() string { return r.fleetID }

// tx runs f in one transaction, committed when f returns nil.
func (r *Registry) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Audit records one action in the audit log: who did it (an operator's
// name, or "device:D"), what, on which subject, and its result ("ok" or
// the error).
func (r *Registry) Audit(ctx context.Context, who, action, subject string, result error, detail string) error {
	return audit(ctx, r.db, time.Now(), who, action, subject, result, detail)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func audit(ctx context.Context, db execer, now time.Time, who, action, subject string, result error, detail string) error {
	res := "ok"
	if result != nil {
		res = result.Error()
	}
	_, err := db.ExecContext(ctx, `INSERT INTO audit (at, who, action, subject, result, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		now.Unix(), who, action, subject, res, detail)
	if err != nil {
		return fmt.Errorf("registry: audit: %w", err)
	}
	return nil
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	At      time.Time
	Who     string
	Action  string
	Subject string
	Result  string
	Detail  string
}

// AuditLog returns the last n entries of the audit log, oldest first.
func (r *Registry) AuditLog(ctx context.Context, n int) ([]AuditEntry, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT at, who, action, subject, result, detail FROM
		(SELECT * FROM audit ORDER BY id DESC LIMIT ?) ORDER BY id`, n)
	if err != nil {
		return nil, fmt.Errorf("registry: audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.Who, &e.Action, &e.Subject, &e.Result, &e.Detail); err != nil {
			return nil, fmt.Errorf("registry: audit log: %w", err)
		}
		e.At = time.Unix(at, 0)
		out = append(out, e)
	}
	return out, rows.Err()
}

// randomID returns prefix followed by 16 random hex digits.
func randomID(prefix string) (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return prefix + hex.EncodeToString(b), nil
}

func encodeGroups(g []string) string {
	if g == nil {
		g = []string{}
	}
	b, _ := json.Marshal(g)
	return string(b)
}

func decodeGroups(s string) []string {
	var g []string
	_ = json.Unmarshal([]byte(s), &g)
	return g
}

// nullTime converts a nullable Unix time.
func nullTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.Unix(v.Int64, 0)
}
