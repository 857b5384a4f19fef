package relay

import (
	"errors"
	"net/http"
	"strings"

	chnames "github.com/onair-dev/onair/channel"
	"github.com/onair-dev/onair/token"
)

// identity is who makes a request, as the token (or anonymous access) says.
type identity struct {
	uid  string
	role token.Role
	anon bool
}

// authorize checks the request's Bearer token (RFC 9725 §4.5, RFC 6750)
// for channel name and the session kind: 401 without a usable token, 403
// for a valid token of another channel or an audience token on WHIP.
// Without a token, anonymous access (if allowed) gives the role the
// endpoint needs and the uid of the "uid" query parameter or a new one.
func (r *Relay) authorize(req *http.Request, name string, k kind) (identity, *httpError) {
	tok, hasToken, herr := bearer(req)
	if herr != nil {
		return identity{}, herr
	}
	if !hasToken || len(r.secret) == 0 {
		if !r.cfg.AllowAnonymous {
			return identity{}, unauthorized("a bearer token is required", "")
		}
		id := identity{role: token.RoleAudience, anon: true}
		if k == kindHost {
			id.role = token.RoleHost
		}
		id.uid = req.URL.Query().Get("uid")
		if id.uid == "" {
			id.uid = "anon-" + randomHex(4)
		} else if err := validUID(id.uid); err != nil {
			return identity{}, errorf(http.StatusBadRequest, codeBadRequest, "uid %q: %s", id.uid, err)
		}
		return id, nil
	}
	c, err := token.Verify(r.secret, tok)
	switch {
	case errors.Is(err, token.ErrExpired):
		return identity{}, unauthorized("the token has expired", "invalid_token")
	case errors.Is(err, token.ErrBadSignature):
		return identity{}, unauthorized("the token's signature is not valid", "invalid_token")
	case err != nil:
		return identity{}, unauthorized("the token is not valid: "+err.Error(), "invalid_token")
	}
	if c.Channel != name {
		return identity{}, errorf(http.StatusForbidden, codeForbidden, "the token is for another channel")
	}
	if k == kindHost && c.Role != token.RoleHost {
		return identity{}, errorf(http.StatusForbidden, codeForbidden, "publishing needs a host token, this one is for the %s role", c.Role)
	}
	return identity{uid: c.UID, role: c.Role}, nil
}

// bearer returns the request's Bearer token, whether there is one, and a
// 401 for an Authorization field of another scheme.
func bearer(req *http.Request) (string, bool, *httpError) {
	h := strings.TrimSpace(req.Header.Get("Authorization"))
	if h == "" {
		return "", false, nil
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", false, unauthorized("the authorization must be a bearer token", "invalid_request")
	}
	return strings.TrimSpace(tok), true, nil
}

// unauthorized is a 401 with a WWW-Authenticate challenge (RFC 6750 §3).
func unauthorized(msg, bearerErr string) *httpError {
	challenge := `Bearer realm="onair"`
	if bearerErr != "" {
		challenge += `, error="` + bearerErr + `"`
	}
	return errorf(http.StatusUnauthorized, codeUnauthorized, "%s", msg).with("WWW-Authenticate", challenge)
}

// validUID checks an anonymous uid: the characters of a channel name, at
// most token.MaxUIDLen bytes.
func validUID(uid string) error {
	if len(uid) > token.MaxUIDLen {
		return errors.New("too long")
	}
	for len(uid) > 0 { // the name rule, a name's length at a time
		n := min(len(uid), chnames.MaxNameLen)
		if err := chnames.ValidateName(uid[:n]); err != nil {
			return errors.New("only letters, digits, space and !#$%&()+-:;<=.>?@[]^_{|}~, are allowed")
		}
		uid = uid[n:]
	}
	return nil
}
