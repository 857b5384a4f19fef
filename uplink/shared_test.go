package uplink_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/whiptest"
	"github.com/onair-dev/onair/uplink"
)

// The behaviour Publisher and Subscriber share, tested on both against
// whiptest in its WHIP and its WHEP mode.

// status is what Stats and SubscriberStats share.
type status struct {
	State                   uplink.State
	LastError               string
	Reconnects, ICERestarts int
}

// peer is a running Publisher or Subscriber seen through what they share.
type peer struct {
	*runner
	endpoint
	status func() status
	// startMedia makes media flow: the publisher writes a tone, the
	// subscriber's server sends one anyway.
	startMedia func(t *testing.T)
	// flow counts the packets that went through session id so far: from
	// the publisher to the server, or to the subscriber.
	flow func(srv *whiptest.Server, id int) int
}

// endpoint is the part of the API of Publisher and Subscriber they share.
type endpoint interface {
	State() uplink.State
	RestartICE()
}

// side is the Publisher or the Subscriber, with the server it talks to.
type side struct {
	name      string
	newServer func(t *testing.T) *whiptest.Server
	start     func(t *testing.T, url, token string) peer
}

func sides() []side {
	startPub := func(t *testing.T, url, token string) peer {
		p := startPublisher(t, uplink.PublisherConfig{URL: url, Token: token})
		st := func() status { s := p.Stats(); return status{s.State, s.LastError, s.Reconnects, s.ICERestarts} }
		flow := func(srv *whiptest.Server, id int) int { return len(srv.SessionPackets(id)) }
		return peer{p.runner, p, st, func(t *testing.T) { pump(t, p, 0, nil) }, flow}
	}
	startSub := func(t *testing.T, url, token string) peer {
		sub := startSubscriber(t, uplink.SubscriberConfig{URL: url, Token: token})
		st := func() status { s := sub.Stats(); return status{s.State, s.LastError, s.Reconnects, s.ICERestarts} }
		flow := func(*whiptest.Server, int) int { return int(sub.Stats().PacketsReceived) }
		return peer{sub.runner, sub, st, func(*testing.T) {}, flow}
	}
	toneServer := func(t *testing.T) *whiptest.Server { return newToneServer(t, 440) }
	return []side{{"publisher", newServer, startPub}, {"subscriber", toneServer, startSub}}
}

// eachSide runs test on the publisher and on the subscriber, in parallel,
// and checks for leaked goroutines once both are done.
func eachSide(t *testing.T, test func(t *testing.T, sd side)) {
	checkGoroutines(t)
	for _, sd := range sides() {
		t.Run(sd.name, func(t *testing.T) {
			t.Parallel()
			test(t, sd)
		})
	}
}

// connect starts a server, scripted by setup unless it is nil, and a
// client of it, and waits until the client is connected.
func (sd side) connect(t *testing.T, setup func(srv *whiptest.Server)) (*whiptest.Server, peer) {
	t.Helper()
	srv := sd.newServer(t)
	if setup != nil {
		setup(srv)
	}
	p := sd.start(t, srv.Endpoint(), "")
	p.states.wait(t, uplink.StateConnected, 1, connectTimeout)
	return srv, p
}

// startFlow makes media flow and waits until it flows on session 1.
func startFlow(t *testing.T, srv *whiptest.Server, p peer) {
	t.Helper()
	p.startMedia(t)
	if err := waitFlow(srv, p, 1, 10, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

// waitFlow waits until n more packets went through session id.
func waitFlow(srv *whiptest.Server, p peer, id, n int, timeout time.Duration) error {
	base := p.flow(srv, id)
	if err := srv.WaitFor(timeout, func() bool { return p.flow(srv, id) >= base+n }); err != nil {
		return fmt.Errorf("%d of %d packets on session %d: %w", p.flow(srv, id)-base, n, id, err)
	}
	return nil
}

// TestRedirect follows 307 and 308 on the POST: the offer reaches the new
// path with its token and the DELETE goes to the Location resolved against
// the final URL.
func TestRedirect(t *testing.T) {
	eachSide(t, func(t *testing.T, sd side) {
		for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
			t.Run(http.StatusText(code), func(t *testing.T) {
				t.Parallel()
				srv := sd.newServer(t)
				srv.SetToken("secret")
				path := strings.TrimPrefix(srv.Endpoint(), srv.URL())
				srv.Redirect("/old", path, code)
				p := sd.start(t, srv.URL()+"/old", "secret")
				p.states.wait(t, uplink.StateConnected, 1, connectTimeout)

				posts := srv.RequestsOf(http.MethodPost)
				if len(posts) != 2 || posts[0].Path != "/old" || posts[1].Path != path {
					t.Fatalf("posts %+v, want /old then %s", posts, path)
				}
				if posts[1].Authorization != "Bearer secret" || posts[1].ContentType != "application/sdp" ||
					!strings.HasPrefix(posts[1].Body, "v=0") {
					t.Errorf("redirected post lost auth, type or body: %+v", posts[1])
				}
				if err := p.stop(t); err != nil {
					t.Fatal(err)
				}
				dels := srv.RequestsOf(http.MethodDelete)
				if len(dels) != 1 || dels[0].Path != srv.SessionPath(1) {
					t.Fatalf("deletes %+v, want one of %s", dels, srv.SessionPath(1))
				}
			})
		}
	})
}

// TestUnauthorized: 401 and 403 end Run with ErrUnauthorized after exactly
// one POST, reported as StateUnauthorized.
func TestUnauthorized(t *testing.T) {
	eachSide(t, func(t *testing.T, sd side) {
		for _, tc := range []struct{ name, token string }{{"401", "wrong"}, {"403", "banned"}} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				srv := sd.newServer(t)
				srv.SetToken("good")
				srv.SetForbiddenToken("banned")
				p := sd.start(t, srv.Endpoint(), tc.token)
				err := p.wait(t, 5*time.Second)
				if !errors.Is(err, uplink.ErrUnauthorized) {
					t.Fatalf("Run: %v, want ErrUnauthorized", err)
				}
				if p.states.count(uplink.StateUnauthorized) != 1 || p.State() != uplink.StateUnauthorized {
					t.Errorf("states %v, want unauthorized reported", p.states.states)
				}
				time.Sleep(2 * time.Second)
				if n := len(srv.RequestsOf(http.MethodPost)); n != 1 {
					t.Errorf("%d POSTs, want exactly 1", n)
				}
			})
		}
	})
}

// TestRetryAfter503: a 503 with Retry-After: 1 delays the next POST by a
// second; then the client connects.
func TestRetryAfter503(t *testing.T) {
	eachSide(t, func(t *testing.T, sd side) {
		srv, p := sd.connect(t, func(srv *whiptest.Server) { srv.FailPOSTs(1, "1") })

		posts := srv.RequestsOf(http.MethodPost)
		if len(posts) != 2 {
			t.Fatalf("%d POSTs, want 2", len(posts))
		}
		if gap := posts[1].Time.Sub(posts[0].Time); gap < 900*time.Millisecond {
			t.Errorf("second POST %s after the 503, want >= ~1 s", gap)
		}
		errs := p.states.errorsOf(uplink.StateRetrying)
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), "503") {
			t.Errorf("retrying errors %v, want one 503", errs)
		}
		if n := p.status().Reconnects; n != 1 {
			t.Errorf("reconnects %d, want 1", n)
		}
	})
}

// TestDeleteOnStop: cancelling Run deletes the session exactly once and
// returns nil.
func TestDeleteOnStop(t *testing.T) {
	eachSide(t, func(t *testing.T, sd side) {
		srv, p := sd.connect(t, nil)
		if err := p.stop(t); err != nil {
			t.Fatalf("Run: %v, want nil", err)
		}
		sessions := srv.Sessions()
		dels := srv.RequestsOf(http.MethodDelete)
		if len(sessions) != 1 || len(dels) != 1 || dels[0].Path != sessions[0].Location || !sessions[0].Deleted {
			t.Fatalf("sessions %+v, deletes %+v: want one DELETE of the session", sessions, dels)
		}
		if p.State() != uplink.StateClosed || p.states.count(uplink.StateClosed) != 1 {
			t.Errorf("state %s, want closed", p.State())
		}
	})
}

// TestRepublishAfterServerClose: the server closes the PeerConnection; the
// client retries, creates a second session and audio flows on it.
func TestRepublishAfterServerClose(t *testing.T) {
	eachSide(t, func(t *testing.T, sd side) {
		srv, p := sd.connect(t, nil)
		startFlow(t, srv, p)
		if err := srv.CloseSession(); err != nil {
			t.Fatal(err)
		}
		p.states.wait(t, uplink.StateRetrying, 1, connectTimeout)
		p.states.wait(t, uplink.StateConnected, 2, connectTimeout)
		if err := srv.WaitSessions(2, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := waitFlow(srv, p, 2, 10, 5*time.Second); err != nil {
			t.Fatalf("no packets on the second session: %v", err)
		}
		if errs := p.states.errorsOf(uplink.StateRetrying); !errors.Is(errs[0], uplink.ErrSessionLost) {
			t.Errorf("retrying with %v, want ErrSessionLost", errs[0])
		}
		if d := srv.RequestsOf(http.MethodDelete); len(d) != 1 || d[0].Path != srv.SessionPath(1) {
			t.Errorf("deletes %+v, want the old session deleted", d)
		}
	})
}

// TestBadAnswer: an answer that is not SDP is a clear error, retried.
func TestBadAnswer(t *testing.T) {
	eachSide(t, func(t *testing.T, sd side) {
		srv, p := sd.connect(t, func(srv *whiptest.Server) { srv.BadAnswers(1) })
		errs := p.states.errorsOf(uplink.StateRetrying)
		if len(errs) != 1 || !errors.Is(errs[0], uplink.ErrBadAnswer) {
			t.Fatalf("retrying errors %v, want one ErrBadAnswer", errs)
		}
		t.Logf("bad answer reported as: %v", errs[0])
		if d := srv.RequestsOf(http.MethodDelete); len(d) != 1 || d[0].Path != srv.SessionPath(1) {
			t.Errorf("deletes %+v, want the bad session deleted", d)
		}
	})
}

// TestServerGone: the server disappears; the client keeps retrying with
// the last error reported, and stops cleanly.
func TestServerGone(t *testing.T) {
	eachSide(t, func(t *testing.T, sd side) {
		srv, p := sd.connect(t, nil)
		srv.Close()
		p.states.wait(t, uplink.StateRetrying, 3, 5*time.Second)
		if st := p.status(); st.State != uplink.StateRetrying && st.State != uplink.StateConnecting ||
			!strings.Contains(st.LastError, "connection refused") {
			t.Errorf("state %s, last error %q: want retrying after connection refused", st.State, st.LastError)
		}
		if err := p.stop(t); err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

// TestLinkICEServers: the endpoint announces a STUN server in Link headers
// (OPTIONS and 201); the client really uses it, and the server reflexive
// candidate, learned after the offer was sent, is trickled by PATCH with
// If-Match set to the session's ETag.
func TestLinkICEServers(t *testing.T) {
	eachSide(t, func(t *testing.T, sd side) {
		stunSrv := newSTUNServer(t, 2500*time.Millisecond) // after the 2 s gathering bound
		srv := sd.newServer(t)
		srv.SetLinks(fmt.Sprintf(`<stun:127.0.0.1:%d>; rel="ice-server"`, stunSrv.port()))
		p := sd.start(t, srv.Endpoint(), "")

		if err := srv.WaitFor(5*time.Second, func() bool { return stunSrv.count() > 0 }); err != nil {
			t.Fatal("no STUN binding request reached the Link ICE server")
		}
		p.states.wait(t, uplink.StateConnected, 1, connectTimeout)

		if err := srv.WaitFor(5*time.Second, func() bool { return len(srv.RequestsOf(http.MethodPatch)) > 0 }); err != nil {
			t.Fatal("the server reflexive candidate was not trickled")
		}
		sess := srv.Sessions()[0]
		patch := srv.RequestsOf(http.MethodPatch)[0]
		if patch.Path != sess.Location || patch.IfMatch != sess.ETag ||
			patch.ContentType != "application/trickle-ice-sdpfrag" {
			t.Errorf("trickle %+v: want PATCH of %s with If-Match %s", patch, sess.Location, sess.ETag)
		}
		if !strings.Contains(patch.Body, "typ srflx") || !strings.Contains(patch.Body, "a=ice-ufrag:"+sess.RemoteUfrag) {
			t.Errorf("trickle body %q: want the srflx candidate with ufrag %s", patch.Body, sess.RemoteUfrag)
		}
		if err := srv.WaitFor(10*time.Second, func() bool { return srv.Sessions()[0].Trickles == 1 }); err != nil {
			t.Errorf("server applied %d trickles, want 1", srv.Sessions()[0].Trickles)
		}
		if opts := srv.RequestsOf(http.MethodOptions); len(opts) == 0 {
			t.Error("no OPTIONS request for the ICE servers")
		}
	})
}

// TestLinkICEServersFrom201: with OPTIONS refused (405) the ICE servers of
// the 201's Link header are applied to the PeerConnection and used by the
// next ICE gathering (an ICE restart).
func TestLinkICEServersFrom201(t *testing.T) {
	eachSide(t, func(t *testing.T, sd side) {
		stunSrv := newSTUNServer(t, 0)
		srv, p := sd.connect(t, func(srv *whiptest.Server) {
			srv.SetOptionsAllowed(false)
			srv.SetLinks(fmt.Sprintf(`<stun:127.0.0.1:%d>; rel="ice-server"`, stunSrv.port()))
		})
		if n := stunSrv.count(); n != 0 {
			t.Fatalf("%d STUN requests before the 201's Link header was known", n)
		}

		p.RestartICE()
		if err := srv.WaitFor(5*time.Second, func() bool { return stunSrv.count() > 0 }); err != nil {
			t.Fatal("the ICE restart did not use the Link ICE server of the 201")
		}
		if err := srv.WaitFor(5*time.Second, func() bool { return srv.Sessions()[0].ICERestarts == 1 }); err != nil {
			t.Fatal("no ICE restart on the server")
		}
		if posts := srv.RequestsOf(http.MethodPost); len(posts) != 1 || p.states.count(uplink.StateRetrying) != 0 {
			t.Errorf("%d POSTs, states %v: want one session throughout", len(posts), p.states.states)
		}
	})
}

// TestICERestartByPatch: RestartICE with PATCH allowed restarts ICE on the
// same session (RFC 9725 §4.3.2, draft-ietf-wish-whep-03 §4.4.3):
// If-Match "*", a new ufrag, no new POST, audio keeps flowing.
func TestICERestartByPatch(t *testing.T) {
	eachSide(t, func(t *testing.T, sd side) {
		srv, p := sd.connect(t, nil)
		startFlow(t, srv, p)
		oldUfrag := srv.Sessions()[0].RemoteUfrag

		p.RestartICE()
		if err := srv.WaitFor(5*time.Second, func() bool { return srv.Sessions()[0].ICERestarts == 1 }); err != nil {
			t.Fatal("no ICE restart on the server")
		}
		patches := srv.RequestsOf(http.MethodPatch)
		if len(patches) != 1 || patches[0].IfMatch != "*" {
			t.Fatalf("patches %+v, want one with If-Match *", patches)
		}
		sess := srv.Sessions()[0]
		if sess.RemoteUfrag == oldUfrag || !strings.Contains(patches[0].Body, "a=ice-ufrag:"+sess.RemoteUfrag) {
			t.Errorf("ufrag %q after restart (was %q), patch %q", sess.RemoteUfrag, oldUfrag, patches[0].Body)
		}
		if err := waitFlow(srv, p, 1, 25, 5*time.Second); err != nil {
			t.Fatalf("audio did not keep flowing after the ICE restart: %v", err)
		}
		if posts := srv.RequestsOf(http.MethodPost); len(posts) != 1 {
			t.Errorf("%d POSTs, want 1 (same session)", len(posts))
		}
		if st := p.status(); st.ICERestarts != 1 || p.states.count(uplink.StateRetrying) != 0 {
			t.Errorf("ice restarts %d, states %v", st.ICERestarts, p.states.states)
		}
	})
}

// TestICERestartPatchRefused: with PATCH refused (405) the same trigger
// leads to a full re-offer: a new POST and a new session.
func TestICERestartPatchRefused(t *testing.T) {
	eachSide(t, func(t *testing.T, sd side) {
		srv, p := sd.connect(t, func(srv *whiptest.Server) { srv.SetPatchAllowed(false) })

		p.RestartICE()
		p.states.wait(t, uplink.StateConnected, 2, connectTimeout)
		if posts := srv.RequestsOf(http.MethodPost); len(posts) != 2 {
			t.Errorf("%d POSTs, want 2", len(posts))
		}
		if err := srv.WaitSessions(2, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if s := srv.Sessions(); !s[0].Deleted || s[0].ICERestarts != 0 {
			t.Errorf("old session %+v: want deleted, not restarted", s[0])
		}
	})
}

// TestICERestartAfterOutage: the server's UDP goes silent; after ICE has
// been disconnected for a few seconds the client restarts ICE by PATCH on
// the same session, and audio flows again once the network is back.
func TestICERestartAfterOutage(t *testing.T) {
	eachSide(t, func(t *testing.T, sd side) {
		srv, p := sd.connect(t, nil)
		startFlow(t, srv, p)

		srv.SetFrozen(true)
		start := time.Now()
		if err := srv.WaitFor(30*time.Second, func() bool { return srv.Sessions()[0].ICERestarts == 1 }); err != nil {
			t.Fatal("no ICE restart during the outage")
		}
		t.Logf("ice restarted %s after the outage began", time.Since(start).Round(time.Millisecond))
		base := p.flow(srv, 1)
		srv.SetFrozen(false)
		if err := srv.WaitFor(10*time.Second, func() bool { return p.flow(srv, 1) >= base+25 }); err != nil {
			t.Fatal("audio did not flow again after the outage")
		}
		if posts := srv.RequestsOf(http.MethodPost); len(posts) != 1 || p.states.count(uplink.StateRetrying) != 0 {
			t.Errorf("%d POSTs, states %v: want the same session throughout", len(posts), p.states.states)
		}
		if patches := srv.RequestsOf(http.MethodPatch); len(patches) != 1 || patches[0].IfMatch != "*" {
			t.Errorf("patches %+v, want one ICE restart", patches)
		}
	})
}
