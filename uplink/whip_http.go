package uplink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"
)

// Media types of the WHIP and WHEP exchanges (RFC 9725 §4.2, §4.3.1;
// RFC 8840 §9.1; draft-ietf-wish-whep uses the same).
const (
	contentTypeSDP     = "application/sdp"
	contentTypeSDPFrag = "application/trickle-ice-sdpfrag"
)

// maxBody bounds what is read of any response body.
const maxBody = 1 << 20

// maxRedirects bounds the 307/308 hops followed for one request
// (RFC 9725 §4.5 allows redirects of the POST).
const maxRedirects = 5

// whipClient does the HTTP side of WHIP (RFC 9725 §4) and of WHEP, which
// has the same shape (draft-ietf-wish-whep §4): OPTIONS, POST of the offer,
// PATCH of the session for trickle ICE and ICE restarts, DELETE.
type whipClient struct {
	endpoint string
	token    string
	timeout  time.Duration // per request
	hc       *http.Client
}

// resource is a WHIP or WHEP session created by a 201 (RFC 9725 §4.2).
type resource struct {
	location string      // absolute URL of the session, resolved against the final request URL; "" when the 201 had no Location
	etag     string      // entity-tag for If-Match on trickle PATCHes (RFC 9725 §4.3.1)
	links    []ICEServer // ICE servers from the 201's Link header (RFC 9725 §4.6)
	answer   string      // the SDP answer
}

// newHTTPClient returns hc (or a new client with its own transport when hc
// is nil) with a redirect policy for WHIP and WHEP: at most maxRedirects hops, only
// method-preserving redirects (307/308; a 301/302/303 turning the POST into
// a GET is returned as is, so it fails as an unexpected status), and the
// Bearer token kept unless the redirect downgrades https to http.
func newHTTPClient(hc *http.Client, token string) (*http.Client, bool) {
	owned := hc == nil
	var c http.Client
	if owned {
		c.Transport = http.DefaultTransport.(*http.Transport).Clone()
	} else {
		c = *hc
	}
	if c.CheckRedirect == nil {
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			first := via[0]
			if req.Method != first.Method {
				return http.ErrUseLastResponse
			}
			if token != "" && req.Header.Get("Authorization") == "" &&
				!(first.URL.Scheme == "https" && req.URL.Scheme != "https") {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			return nil
		}
	}
	return &c, owned
}

// do sends one request with the client's timeout and auth and returns the
// response with its body read (up to maxBody).
func (c *whipClient) do(ctx context.Context, method, url, contentType, body string, hdr http.Header) (*http.Response, string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body) // sets GetBody, so 307/308 can resend it
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, "", err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token) // RFC 9725 §4.7.1
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, "", fmt.Errorf("read body: %w", err)
	}
	return resp, string(b), nil
}

// options asks the endpoint for its ICE servers before the offer is made
// (OPTIONS with Link rel="ice-server", as in the WHIP drafts preceding
// RFC 9725 §4.6), so that the PeerConnection gathers with them from the
// start. Any failure (405, network) just means no servers.
func (c *whipClient) options(ctx context.Context) ([]ICEServer, error) {
	resp, body, err := c.do(ctx, http.MethodOptions, c.endpoint, "", "", nil)
	if err != nil {
		return nil, fmt.Errorf("options: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("options: %w", newStatusError(resp, body))
	}
	return parseICELinks(resp.Header), nil
}

// postOffer POSTs the SDP offer (RFC 9725 §4.2) and returns the session
// created by a 201 Created. Redirects are followed by the HTTP client and the
// Location is resolved against the final request URL.
func (c *whipClient) postOffer(ctx context.Context, offer string) (*resource, error) {
	resp, body, err := c.do(ctx, http.MethodPost, c.endpoint, contentTypeSDP, offer, nil)
	if err != nil {
		return nil, fmt.Errorf("post offer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("post offer: %w", newStatusError(resp, body))
	}
	// A 201 without Location (RFC 9725 §4.2 requires one; go2rtc omits it)
	// is a session without a resource: location stays "".
	var location string
	if resp.Header.Get("Location") != "" {
		loc, err := resp.Location()
		if err != nil {
			return nil, fmt.Errorf("post offer: 201 without a usable Location: %w", err)
		}
		location = loc.String()
	}
	if strings.TrimSpace(body) == "" {
		return nil, fmt.Errorf("post offer: %w: empty body", ErrBadAnswer)
	}
	return &resource{
		location: location,
		etag:     resp.Header.Get("ETag"),
		links:    parseICELinks(resp.Header),
		answer:   body,
	}, nil
}

// patch sends an SDP fragment to the session (RFC 9725 §4.3.1, RFC 8840)
// with If-Match ifMatch. It returns the response body and ETag of a 200 (an
// ICE restart answer, §4.3.2), or "" for a 204. A 405 or 501 means the
// session does not allow PATCH: errPatchNotAllowed.
func (c *whipClient) patch(ctx context.Context, location, ifMatch, frag string) (body, etag string, err error) {
	hdr := http.Header{}
	if ifMatch != "" {
		hdr.Set("If-Match", ifMatch)
	}
	resp, body, err := c.do(ctx, http.MethodPatch, location, contentTypeSDPFrag, frag, hdr)
	if err != nil {
		return "", "", fmt.Errorf("patch: %w", err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return body, resp.Header.Get("ETag"), nil
	case http.StatusNoContent:
		return "", resp.Header.Get("ETag"), nil
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return "", "", fmt.Errorf("patch: %w (%d)", errPatchNotAllowed, resp.StatusCode)
	default:
		return "", "", fmt.Errorf("patch: %w", newStatusError(resp, body))
	}
}

// delete deletes the session (RFC 9725 §4.2: leaving). A 404 counts as done.
func (c *whipClient) delete(ctx context.Context, location string) error {
	resp, body, err := c.do(ctx, http.MethodDelete, location, "", "", nil)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusNotFound {
		return fmt.Errorf("delete session: %w", newStatusError(resp, body))
	}
	return nil
}

// newStatusError describes an unexpected response; the Retry-After of a 503
// or 429 (RFC 9110 §10.2.3, RFC 6585 §4), or of the 409 a WHEP endpoint
// sends while nothing is published (draft-ietf-wish-whep-03 §4.2), is kept
// for the retry loop.
func newStatusError(resp *http.Response, body string) error {
	e := &statusError{Code: resp.StatusCode, Body: snippet(body)}
	switch resp.StatusCode {
	case http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusConflict:
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return e
}

// snippet returns the start of a response body on one line, for errors.
func snippet(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > 120 {
		s = string(r[:120]) + "…"
	}
	return s
}

// isPatchRefused reports whether err says PATCH is not allowed.
func isPatchRefused(err error) bool { return errors.Is(err, errPatchNotAllowed) }
