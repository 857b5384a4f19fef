package relay

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/onair-dev/onair/internal/rtcapi"
)

// Media types of WHIP and WHEP (RFC 9725 §4.2, §4.3.1; RFC 8840 §9.1).
const (
	contentTypeSDP     = "application/sdp"
	contentTypeSDPFrag = "application/trickle-ice-sdpfrag"
)

// maxBody bounds the SDP offers the relay reads (a browser's offer of 8
// audio sections is about 10 KiB), maxFragBody the SDP fragments of PATCH
// requests.
const (
	maxBody     = 64 << 10
	maxFragBody = 16 << 10
)

// Allowed methods of the two kinds of WHIP/WHEP resources.
const (
	allowEndpoint = "OPTIONS, POST"
	allowSession  = "OPTIONS, PATCH, DELETE"
)

// routes builds the relay's request multiplexer.
func (r *Relay) routes() http.Handler {
	mux := http.NewServeMux()
	for _, k := range []kind{kindHost, kindAudience} {
		mux.Handle(k.prefix()+"{channel}", r.endpoint(k))
		mux.Handle(k.prefix()+"{channel}/{id}", r.resource(k))
		mux.Handle(k.prefix(), r.malformedPath(k))
	}
	mux.HandleFunc("/api/channels", r.apiChannels)
	mux.HandleFunc("/api/channels/{name}", r.apiChannel)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, req *http.Request) {
		writeError(w, errorf(http.StatusNotFound, codeNotFound, "no such api resource"))
	})
	mux.HandleFunc("/healthz", r.healthz)
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		if r.cfg.Web != nil && webPath(req.URL.Path) {
			r.cfg.Web.ServeHTTP(w, req)
			return
		}
		// A path of no resource is a 404 whatever the method: a 405
		// (RFC 9110 §15.5.6) is for a resource that exists.
		writeError(w, errorf(http.StatusNotFound, codeNotFound, "not found"))
	})
	return refuseUnread(cors(mux))
}

// webPath says whether path p is one of Config.Web: "/", "/listen",
// "/listen/…", "/channel", "/channel/…" or "/assets/…".
func webPath(p string) bool {
	return p == "/" || p == "/listen" || strings.HasPrefix(p, "/listen/") ||
		p == "/channel" || strings.HasPrefix(p, "/channel/") || strings.HasPrefix(p, "/assets/")
}

// cors lets pages of other origins use WHIP, WHEP and the API (the
// relay's own pages do not need it): answers name every origin and expose
// the WHIP header fields, and CORS preflights (an OPTIONS with
// Access-Control-Request-Method) are answered 204 here, allowing the
// methods and fields WHIP and WHEP use. Other OPTIONS requests (WHIP's ICE
// server discovery) go through.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Origin") != "" {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Access-Control-Expose-Headers", "Location, ETag, Link, Accept-Patch, Accept-Post, Retry-After")
			if req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, req)
	})
}

// endpoint handles POST /whip/{channel} and /whep/{channel} and OPTIONS.
func (r *Relay) endpoint(k kind) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.Method {
		case http.MethodPost:
			r.post(w, req, k, req.PathValue("channel"))
		case http.MethodOptions:
			w.Header().Set("Accept-Post", contentTypeSDP)
			r.options(w, allowEndpoint)
		default:
			writeError(w, methodNotAllowed(req.Method, allowEndpoint))
		}
	})
}

// resource handles a session resource: DELETE, PATCH and OPTIONS.
func (r *Relay) resource(k kind) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s := r.lookup(k, req.PathValue("channel"), req.PathValue("id"))
		if s == nil {
			writeError(w, errorf(http.StatusNotFound, codeNotFound, "no such session"))
			return
		}
		switch req.Method {
		case http.MethodDelete:
			r.teardown(s, "deleted by the client")
			w.WriteHeader(http.StatusOK)
		case http.MethodPatch:
			r.patch(w, req, s)
		case http.MethodOptions:
			w.Header().Set("Accept-Patch", contentTypeSDPFrag)
			r.options(w, allowSession)
		default:
			writeError(w, methodNotAllowed(req.Method, allowSession))
		}
	})
}

// malformedPath answers paths under /whip/ and /whep/ that are neither an
// endpoint nor a session.
func (r *Relay) malformedPath(k kind) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == k.prefix() {
			writeError(w, invalidChannel("", errors.New("empty")))
			return
		}
		writeError(w, errorf(http.StatusNotFound, codeNotFound, "no such resource"))
	})
}

// lookup returns the session id of kind k in channel name, or nil.
func (r *Relay) lookup(k kind, name, id string) *session {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sessions[id]
	if s == nil || s.kind != k || s.channel != name {
		return nil
	}
	return s
}

// options answers OPTIONS with the ICE servers (RFC 9725 §4.6) and the
// allowed methods.
func (r *Relay) options(w http.ResponseWriter, allow string) {
	r.writeLinks(w)
	w.Header().Set("Allow", allow)
	w.WriteHeader(http.StatusNoContent)
}

// writeLinks adds one Link rel="ice-server" field per ICE server URL.
func (r *Relay) writeLinks(w http.ResponseWriter) {
	for _, l := range r.links {
		w.Header().Add("Link", l)
	}
}

// iceLinks renders ICE servers as Link header field values (RFC 9725
// §4.6, RFC 8288): `<turn:host>; rel="ice-server"; username="u";
// credential="p"; credential-type="password"`.
func iceLinks(servers []rtcapi.ICEServer) []string {
	var out []string
	for _, s := range servers {
		for _, u := range s.URLs {
			l := "<" + u + `>; rel="ice-server"`
			if s.Username != "" || s.Credential != "" {
				l += "; username=" + quote(s.Username) + "; credential=" + quote(s.Credential) +
					`; credential-type="password"`
			}
			out = append(out, l)
		}
	}
	return out
}

// quote makes an RFC 9110 §5.6.4 quoted-string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// readBody reads a request body of media type want, at most limit bytes.
// A body declared or found longer is refused without reading the rest
// (http.MaxBytesReader; refuseUnread closes the connection).
func readBody(w http.ResponseWriter, req *http.Request, want string, limit int64) (string, *httpError) {
	mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || !strings.EqualFold(mt, want) {
		return "", errorf(http.StatusUnsupportedMediaType, codeUnsupportedType,
			"content type %q: must be %s", req.Header.Get("Content-Type"), want).with("Accept", want)
	}
	tooLarge := errorf(http.StatusRequestEntityTooLarge, codeTooLarge, "the body exceeds %d bytes", limit)
	if req.ContentLength > limit {
		return "", tooLarge
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, req.Body, limit))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return "", tooLarge
	case err != nil:
		return "", errorf(http.StatusBadRequest, codeBadRequest, "cannot read the body: %s", err)
	}
	return string(b), nil
}

// healthz answers GET /healthz: {"status":"ok","sessions":N}.
func (r *Relay) healthz(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		writeError(w, methodNotAllowed(req.Method, "GET, HEAD"))
		return
	}
	r.mu.Lock()
	n, closed := len(r.sessions), r.closed
	r.mu.Unlock()
	if closed {
		writeError(w, unavailable("the relay is shutting down"))
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Status   string `json:"status"`
		Sessions int    `json:"sessions"`
	}{"ok", n})
}
