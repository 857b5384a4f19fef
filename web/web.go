// Package web serves onair's browser pages from assets embedded in the
// binary: a list of the relay's channels at "/"; at "/listen/{channel}", a
// page that subscribes to a channel over WHEP and plays every host with a
// level meter; and at "/channel/{channel}", the channel page: join as host
// or audience with a token, publish the microphone over WHIP, hear every
// other host with its uid and level. Nothing is fetched from another
// origin; the pages talk only to the relay that serves them (its /api,
// /whip and /whep endpoints).
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/onair-dev/onair/channel"
)

//go:embed assets
var embedded embed.FS

// contentTypes maps the extensions of the embedded assets to their media
// types, so that the answer does not depend on the host's mime.types.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// csp allows the pages only their own origin: scripts, styles and API and
// WHEP requests; "data:" only for the empty favicon.
const csp = "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"

// asset is one embedded file ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// handler serves the pages and the assets.
type handler struct {
	assets map[string]asset // by name under assets/, e.g. "listen.js"
}

// Handler returns the handler of the pages: GET or HEAD of "/" (the channel
// list), "/listen/{channel}" (the listen page), "/channel/{channel}" (the
// channel page; both 404 for an invalid channel name) and
// "/assets/{file}". Every other path is 404, so it can be mounted
// at "/" next to an API.
func Handler() http.Handler {
	h := &handler{assets: map[string]asset{}}
	err := fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(body)
		h.assets[strings.TrimPrefix(p, "assets/")] = asset{
			body:        body,
			contentType: ct,
			etag:        `"` + hex.EncodeToString(sum[:8]) + `"`,
		}
		return nil
	})
	if err != nil {
		// Reading a compiled-in embed.FS does not fail.
		panic(fmt.Sprintf("web: read embedded assets: %v", err))
	}
	return h
}

// ServeHTTP routes a request to a page or an asset.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/":
		h.serve(w, r, "index.html")
	case p == "/listen" || p == "/listen/" || p == "/channel" || p == "/channel/":
		// Relative, so that it also works behind a proxy's path prefix.
		w.Header().Set("Location", "../")
		w.WriteHeader(http.StatusFound)
	case strings.HasPrefix(p, "/listen/"):
		h.serveChannelPage(w, r, strings.TrimPrefix(p, "/listen/"), "listen.html")
	case strings.HasPrefix(p, "/channel/"):
		h.serveChannelPage(w, r, strings.TrimPrefix(p, "/channel/"), "channel.html")
	case strings.HasPrefix(p, "/assets/"):
		name := strings.TrimPrefix(p, "/assets/")
		if strings.HasSuffix(name, ".html") {
			http.NotFound(w, r) // pages have their own paths
			return
		}
		h.serve(w, r, name)
	default:
		http.NotFound(w, r)
	}
}

// serveChannelPage writes page for the channel name, or 404 for an
// invalid name.
func (h *handler) serveChannelPage(w http.ResponseWriter, r *http.Request, name, page string) {
	if err := channel.ValidateName(name); err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	h.serve(w, r, page)
}

// serve writes the named asset, or 404 if there is none; it answers
// conditional requests by ETag.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := h.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("ETag", a.etag)
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	if strings.HasSuffix(name, ".html") {
		hdr.Set("Content-Security-Policy", csp)
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
