package relay

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

// Defaults of the HTTP server's bounds in Config.
const (
	DefaultReadTimeout  = 10 * time.Second
	DefaultWriteTimeout = 15 * time.Second
	DefaultIdleTimeout  = 30 * time.Second
	DefaultMaxConns     = 512
)

// maxHeaderBytes bounds a request's header fields: a token is at most
// token.MaxTokenLen.
const maxHeaderBytes = 16 << 10

// httpServer returns the server Serve runs: every read, write and idle
// wait bounded, so that slow and idle clients cannot hold connections.
func (r *Relay) httpServer() *http.Server {
	return &http.Server{
		Handler:           r.mux,
		ReadHeaderTimeout: min(r.cfg.ReadTimeout, readHeaderTimeout),
		ReadTimeout:       r.cfg.ReadTimeout,
		WriteTimeout:      r.cfg.WriteTimeout,
		IdleTimeout:       r.cfg.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(r.log.Handler(), slog.LevelDebug),
	}
}

// readHeaderTimeout bounds the reading of a request's header fields.
const readHeaderTimeout = 5 * time.Second

// refuseUnread makes a refusal (4xx, 5xx) of a request whose body is not
// read whole the last answer of its connection, and stops reading the
// body: the server would otherwise read on (up to 256 KiB, as slowly as the
// client sends) to keep the connection.
func refuseUnread(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.ContentLength == 0 || req.Body == nil || req.Body == http.NoBody {
			next.ServeHTTP(w, req)
			return
		}
		b := &trackedBody{ReadCloser: req.Body}
		req.Body = b
		next.ServeHTTP(&refusalWriter{ResponseWriter: w, body: b}, req)
	})
}

// trackedBody is a request body that knows whether it was read to its end.
type trackedBody struct {
	io.ReadCloser
	eof atomic.Bool
}

// Read implements io.Reader.
func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.eof.Store(true)
	}
	return n, err
}

// refusalWriter closes the connection of a refusal whose body is unread.
type refusalWriter struct {
	http.ResponseWriter
	body  *trackedBody
	wrote bool
}

// WriteHeader implements http.ResponseWriter.
func (w *refusalWriter) WriteHeader(status int) {
	if !w.wrote && status >= 400 && !w.body.eof.Load() {
		w.Header().Set("Connection", "close")
		_ = http.NewResponseController(w.ResponseWriter).SetReadDeadline(time.Now())
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(status)
}

// Write implements http.ResponseWriter.
func (w *refusalWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap gives http.ResponseController the server's writer.
func (w *refusalWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
