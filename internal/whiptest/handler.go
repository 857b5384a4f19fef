package whiptest

import (
	"github.com/onair-dev/onair/internal/sdpfrag"

	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// serveHTTP records the request and dispatches it.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	body := string(b)
	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Time:          time.Now(),
		Method:        r.Method,
		Path:          r.URL.Path,
		Authorization: r.Header.Get("Authorization"),
		ContentType:   r.Header.Get("Content-Type"),
		IfMatch:       r.Header.Get("If-Match"),
		Body:          body,
	})
	s.mu.Unlock()

	switch {
	case r.Method == http.MethodOptions && s.optionsRefused():
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	case r.Method == http.MethodOptions:
		s.writeLinks(w)
		w.Header().Set("Accept-Post", "application/sdp")
		w.WriteHeader(http.StatusNoContent)
	case strings.HasPrefix(r.URL.Path, s.prefix):
		s.serveSession(w, r, body)
	case r.Method == http.MethodPost:
		s.servePost(w, r, body)
	default:
		w.Header().Set("Allow", "OPTIONS, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// writeLinks adds the scripted Link header fields.
func (s *Server) writeLinks(w http.ResponseWriter) {
	s.mu.Lock()
	links := slices.Clone(s.links)
	s.mu.Unlock()
	for _, l := range links {
		w.Header().Add("Link", l)
	}
}

// authorize checks the Bearer token and returns 0, 401 or 403.
func (s *Server) authorize(r *http.Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case s.forbidden != "" && got == s.forbidden:
		return http.StatusForbidden
	case s.token != "" && got != s.token:
		return http.StatusUnauthorized
	}
	return 0
}

func refuse(w http.ResponseWriter, code int) {
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="whiptest"`)
	}
	http.Error(w, strings.ToLower(http.StatusText(code)), code)
}

// servePost creates a session from an SDP offer (RFC 9725 §4.2,
// draft-ietf-wish-whep-03 §4.2).
func (s *Server) servePost(w http.ResponseWriter, r *http.Request, offer string) {
	s.mu.Lock()
	rd, redirected := s.redirects[r.URL.Path]
	s.mu.Unlock()
	if redirected {
		w.Header().Set("Location", rd.to)
		w.WriteHeader(rd.code)
		return
	}
	if code := s.authorize(r); code != 0 {
		refuse(w, code)
		return
	}
	s.mu.Lock()
	closed, fail, retry := s.closed, s.fail503 > 0, s.retryAfter
	if fail {
		s.fail503--
	}
	bad := !fail && s.badAnswers > 0
	if bad {
		s.badAnswers--
	}
	s.mu.Unlock()
	if closed || fail {
		if retry != "" && fail {
			w.Header().Set("Retry-After", retry)
		}
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/sdp") {
		http.Error(w, "want application/sdp", http.StatusUnsupportedMediaType)
		return
	}

	sess := &session{}
	answer := "this is not an sdp answer\r\n"
	if bad {
		sess.badAnswer = true
	} else {
		var err error
		if answer, err = s.answer(sess, offer); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	if !s.register(sess) {
		if sess.pc != nil {
			_ = sess.pc.GracefulClose()
		}
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	s.writeLinks(w)
	w.Header().Set("Location", sess.path)
	w.Header().Set("ETag", sess.etag)
	w.Header().Set("Content-Type", "application/sdp")
	if s.patchAllowed() {
		w.Header().Set("Accept-Patch", "application/trickle-ice-sdpfrag")
	}
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// register gives sess its ID, location and first ETag; false if closed.
func (s *Server) register(sess *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	sess.id = len(s.sessions) + 1
	sess.path = s.SessionPath(sess.id)
	sess.etag = s.newETagLocked()
	s.sessions = append(s.sessions, sess)
	return true
}

func (s *Server) newETagLocked() string {
	s.etags++
	return fmt.Sprintf(`"whiptest-%d"`, s.etags)
}

func (s *Server) optionsRefused() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refuseOpts
}

func (s *Server) patchAllowed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.refusePatch
}

// serveSession handles PATCH and DELETE of a session resource.
func (s *Server) serveSession(w http.ResponseWriter, r *http.Request, body string) {
	id, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, s.prefix))
	s.mu.Lock()
	var sess *session
	if id >= 1 && id <= len(s.sessions) && !s.sessions[id-1].deleted {
		sess = s.sessions[id-1]
	}
	s.mu.Unlock()
	if sess == nil {
		http.NotFound(w, r)
		return
	}
	if code := s.authorize(r); code != 0 {
		refuse(w, code)
		return
	}
	switch r.Method {
	case http.MethodDelete:
		s.mu.Lock()
		sess.deleted = true
		s.mu.Unlock()
		if sess.pc != nil {
			_ = sess.pc.GracefulClose()
		}
		w.WriteHeader(http.StatusOK)
	case http.MethodPatch:
		s.servePatch(w, r, sess, body)
	default:
		w.Header().Set("Allow", "PATCH, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// servePatch applies a trickle ICE fragment or performs an ICE restart
// (RFC 9725 §4.3.1, §4.3.2).
func (s *Server) servePatch(w http.ResponseWriter, r *http.Request, sess *session, body string) {
	if !s.patchAllowed() {
		w.Header().Set("Allow", "DELETE")
		http.Error(w, "patch not allowed", http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/trickle-ice-sdpfrag") {
		http.Error(w, "want application/trickle-ice-sdpfrag", http.StatusUnsupportedMediaType)
		return
	}
	if sess.pc == nil {
		http.Error(w, "session has no peer", http.StatusConflict)
		return
	}
	sess.op.Lock()
	defer sess.op.Unlock()
	frag := sdpfrag.Parse(body)
	ifMatch := r.Header.Get("If-Match")
	s.mu.Lock()
	etag, ufrag := sess.etag, sess.remoteUfrag
	s.mu.Unlock()
	if ifMatch == "*" || (frag.Ufrag != "" && frag.Ufrag != ufrag) {
		answer, err := s.restart(sess, frag)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		sess.etag = s.newETagLocked()
		sess.restarts++
		etag = sess.etag
		s.mu.Unlock()
		s.writeLinks(w)
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/trickle-ice-sdpfrag")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, answer)
		return
	}
	if ifMatch != etag {
		http.Error(w, "entity-tag does not match", http.StatusPreconditionFailed)
		return
	}
	if err := sess.addCandidates(frag); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	sess.trickles++
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
