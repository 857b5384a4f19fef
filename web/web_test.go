package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"strings"
	"testing"
)

// get requests target from h and returns the response and its body.
func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func TestPages(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		target, contains string
	}{
		{"/", `src="assets/index.js"`},
		{"/listen/demo", `src="../assets/listen.js"`},
		{"/listen/Lobby%202", `src="../assets/listen.js"`},                        // space
		{"/listen/" + url.PathEscape("a#b?c%d&e+f"), `src="../assets/listen.js"`}, // escapes
		{"/listen/" + url.PathEscape("!#$%&()+-:;<=.>?@[]^_{|}~,"), "listen.js"},  // every special
		{"/listen/" + strings.Repeat("x", 64), "listen.js"},
		{"/channel/demo", `src="../assets/channel.js"`},
		{"/channel/" + url.PathEscape("!#$%&()+-:;<=.>?@[]^_{|}~,"), "channel.js"},
	} {
		res, body := get(t, h, "GET", tc.target, nil)
		if res.StatusCode != 200 {
			t.Errorf("GET %s: %d, want 200", tc.target, res.StatusCode)
			continue
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", tc.target, ct)
		}
		if !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s: body lacks %q", tc.target, tc.contains)
		}
		if !strings.Contains(body, `name="viewport"`) {
			t.Errorf("GET %s: no viewport meta", tc.target)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", tc.target, csp)
		}
	}
}

func TestAssetsContentTypes(t *testing.T) {
	h := Handler()
	want := map[string]string{
		"/assets/listen.js":  "text/javascript; charset=utf-8",
		"/assets/index.js":   "text/javascript; charset=utf-8",
		"/assets/whep.js":    "text/javascript; charset=utf-8",
		"/assets/whip.js":    "text/javascript; charset=utf-8",
		"/assets/channel.js": "text/javascript; charset=utf-8",
		"/assets/style.css":  "text/css; charset=utf-8",
	}
	for target, ct := range want {
		res, body := get(t, h, "GET", target, nil)
		if res.StatusCode != 200 || body == "" {
			t.Errorf("GET %s: %d, %d bytes", target, res.StatusCode, len(body))
		}
		if got := res.Header.Get("Content-Type"); got != ct {
			t.Errorf("GET %s: Content-Type %q, want %q", target, got, ct)
		}
		if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q", target, got)
		}
	}
	// Every embedded file has a known type.
	_ = fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if _, ok := contentTypes[path.Ext(p)]; !ok {
				t.Errorf("%s: no content type for %q", p, path.Ext(p))
			}
		}
		return err
	})
}

func TestNotFound(t *testing.T) {
	h := Handler()
	for _, target := range []string{
		"/assets/nope.js",
		"/assets/",
		"/assets/listen.html", // pages only at their own paths
		"/assets/../web.go",
		"/index.html",
		"/nope",
		"/listen/a%2Fb",                       // '/' is not a channel character
		"/listen/a/b",                         // nor is a subpath
		"/listen/caf%C3%A9",                   // nor non-ASCII
		"/listen/" + strings.Repeat("x", 65),  // too long
		"/listen/star*",                       // '*' is not allowed
		"/listen/quote%22",                    // nor '"'
		"/listen/" + url.PathEscape("a\x00b"), // nor control characters
		"/channel/a%2Fb",
		"/channel/a/b",
		"/channel/star*",
		"/assets/channel.html",
	} {
		res, _ := get(t, h, "GET", target, nil)
		if res.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", target, res.StatusCode)
		}
	}
}

func TestMethodsRedirectsAndCaching(t *testing.T) {
	h := Handler()
	res, _ := get(t, h, "POST", "/", nil)
	if res.StatusCode != 405 || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: %d Allow %q, want 405 GET, HEAD", res.StatusCode, res.Header.Get("Allow"))
	}
	res, body := get(t, h, "HEAD", "/listen/demo", nil)
	if res.StatusCode != 200 || body != "" {
		t.Errorf("HEAD /listen/demo: %d with %d bytes", res.StatusCode, len(body))
	}
	res, _ = get(t, h, "GET", "/listen/", nil)
	if res.StatusCode != 302 || res.Header.Get("Location") != "../" {
		t.Errorf("GET /listen/: %d Location %q, want 302 ../", res.StatusCode, res.Header.Get("Location"))
	}
	res, _ = get(t, h, "GET", "/channel/", nil)
	if res.StatusCode != 302 || res.Header.Get("Location") != "../" {
		t.Errorf("GET /channel/: %d Location %q, want 302 ../", res.StatusCode, res.Header.Get("Location"))
	}
	res, _ = get(t, h, "GET", "/assets/listen.js", nil)
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	res, _ = get(t, h, "GET", "/assets/listen.js", map[string]string{"If-None-Match": etag})
	if res.StatusCode != 304 {
		t.Errorf("conditional GET: %d, want 304", res.StatusCode)
	}
}

// TestReferencesResolve follows every src/href of the pages and every
// relative import of the scripts: each must be an embedded asset.
func TestReferencesResolve(t *testing.T) {
	h := Handler()
	attr := regexp.MustCompile(`(?:src|href)="([^"]*)"`)
	imp := regexp.MustCompile(`(?m)^import [^;]* from '([^']+)';`)
	check := func(base, ref string) {
		if strings.HasPrefix(ref, "data:") {
			return
		}
		u, err := url.Parse("http://relay.test" + base)
		if err != nil {
			t.Fatal(err)
		}
		r, err := u.Parse(ref)
		if err != nil {
			t.Fatalf("%s: %q: %v", base, ref, err)
		}
		if res, _ := get(t, h, "GET", r.RequestURI(), nil); res.StatusCode != 200 && res.StatusCode != 302 {
			t.Errorf("%s references %q → %s: %d", base, ref, r.Path, res.StatusCode)
		}
	}
	for _, page := range []string{"/", "/listen/demo", "/channel/demo"} {
		_, body := get(t, h, "GET", page, nil)
		for _, m := range attr.FindAllStringSubmatch(body, -1) {
			check(page, m[1])
		}
	}
	for name := range Handler().(*handler).assets {
		if path.Ext(name) != ".js" {
			continue
		}
		_, body := get(t, h, "GET", "/assets/"+name, nil)
		for _, m := range imp.FindAllStringSubmatch(body, -1) {
			check("/assets/"+name, m[1])
		}
	}
}

// TestNoExternalURLs: the pages fetch nothing from other hosts: no absolute
// http(s) or protocol-relative URL in any asset.
func TestNoExternalURLs(t *testing.T) {
	abs := regexp.MustCompile(`(?i)https?://|["'(=]\s*//[a-z0-9]`)
	err := fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		for _, loc := range abs.FindAllIndex(b, -1) {
			line := 1 + strings.Count(string(b[:loc[0]]), "\n")
			t.Errorf("%s:%d: absolute URL %q", p, line, b[loc[0]:min(len(b), loc[1]+30)])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
