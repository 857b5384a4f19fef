package fleet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// serverCertLifetime is the lifetime of the certificate serve issues its
// own listener at every start.
const serverCertLifetime = 365 * 24 * time.Hour

// Server is a fleet: its configuration, registry and CA, the enrollment
// and renewal endpoints, and the broker's access files. The operator's
// commands use it as much as serve does.
type Server struct {
	cfg Config
	reg *Registry
	ca  *CA
	log *slog.Logger
	now func() time.Time

	accessMu sync.Mutex    // one writer of the access files at a time
	changed  chan struct{} // the access files need writing (buffer 1)
}

// Open opens the fleet of cfg.StateDir (created 0700 if missing): its
// registry and its CA, both made on first use.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("fleet: state dir: %w", err)
	}
	reg, err := OpenRegistry(ctx, filepath.Join(cfg.StateDir, DBFile))
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	ca, err := LoadOrCreateCA(cfg.StateDir, reg.FleetID(), time.Now())
	if err != nil {
		reg.Close()
		return nil, fmt.Errorf("fleet: %w", err)
	}
	return &Server{cfg: cfg, reg: reg, ca: ca, log: log.With("component", "fleet"), now: time.Now,
		changed: make(chan struct{}, 1)}, nil
}

// Close closes the registry.
func (s *Server) Close() error { return s.reg.Close() }

// Registry is the fleet's registry.
func (s *Server) Registry() *Registry { return s.reg }

// CA is the fleet's certificate authority.
func (s *Server) CA() *CA { return s.ca }

// NewClaim makes a claim (see NewClaim) as operator who.
func (s *Server) NewClaim(ctx context.Context, uses int, ttl time.Duration, groups []string, who string) (string, Claim, error) {
	return NewClaim(ctx, s.reg, s.ca, uses, ttl, groups, who, s.now())
}

// Revoke revokes device as operator who and writes the access files.
func (s *Server) Revoke(ctx context.Context, device, who string) error {
	if err := s.reg.Revoke(ctx, device, who, s.now()); err != nil {
		return err
	}
	return s.WriteAccessFiles(ctx)
}

// Readmit readmits device as operator who and writes the access files.
func (s *Server) Readmit(ctx context.Context, device, who string) error {
	if err := s.reg.Readmit(ctx, device, who, s.now()); err != nil {
		return err
	}
	return s.WriteAccessFiles(ctx)
}

// TLSConfig is the HTTPS listener's: the configured certificate, or one
// issued by the CA for the configured hosts. It asks every client for a
// certificate and requires none: /enroll takes a claim instead, and
// /renew checks the certificate itself (renewHandler), so that an expired
// one gets an answer that says so rather than a failed handshake.
func (s *Server) TLSConfig() (*tls.Config, error) {
	var cert tls.Certificate
	var err error
	if s.cfg.TLSCert != "" {
		cert, err = tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
	} else {
		var certPEM, keyPEM []byte
		certPEM, keyPEM, err = s.ca.IssueServer(s.cfg.Hosts, serverCertLifetime, s.now())
		if err == nil {
			cert, err = tls.X509KeyPair(append(certPEM, s.ca.CertPEM...), keyPEM)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("fleet: server certificate: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequestClientCert,
	}, nil
}

// Run serves /enroll and /renew on cfg.Listen until ctx ends, keeping the
// access files current: at start, after every enrollment of a new device,
// and every crlRefresh.
func (s *Server) Run(ctx context.Context) error {
	tlsConf, err := s.TLSConfig()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("fleet: listen: %w", err)
	}
	if err := s.WriteAccessFiles(ctx); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         tlsConf,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.log.Info("listening", "addr", ln.Addr().String(), "fleet", s.reg.FleetID(), "ca_sha256", s.ca.CAFingerprint())
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	refresh := time.NewTicker(crlRefresh)
	defer refresh.Stop()
	for {
		select {
		case err := <-served:
			return fmt.Errorf("fleet: serve: %w", err)
		case <-s.changed:
		case <-refresh.C:
		case <-ctx.Done():
			shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := srv.Shutdown(shut)
			cancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("fleet: shutdown: %w", err)
			}
			return ctx.Err()
		}
		if err := s.WriteAccessFiles(ctx); err != nil {
			s.log.Error("access files", "error", err)
		}
	}
}

// accessChanged asks Run to write the access files; requests made while
// one is pending are one.
func (s *Server) accessChanged() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}
