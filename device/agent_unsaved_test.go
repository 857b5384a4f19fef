package device

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wantUnsaved asserts that r is the internal error of a change not saved.
func wantUnsaved(t *testing.T, what string, r testReply) {
	t.Helper()
	if r.OK || r.Error == nil || r.Error.Code != CodeInternal || !strings.HasPrefix(r.Error.Message, "state not saved: ") ||
		!strings.Contains(r.Error.Message, "restart") {
		t.Errorf("%s: reply ok=%v %+v, want internal \"state not saved: …\"", what, r.OK, r.Error)
	}
}

// TestAgentChangeNotSaved: when the desired state cannot be written (its
// file's path is a directory; the state directory is a file), mute,
// set_gain, join and leave are applied but answered internal, "state not
// saved", and an error event says so; a status is answered ok.
func TestAgentChangeNotSaved(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		dir   string
		block func(dir string) error // after the start
	}{
		"desired file is a directory": {t.TempDir(), func(dir string) error { return os.Mkdir(filepath.Join(dir, DesiredFile), 0o700) }},
		"state directory is a file":   {filepath.Join(file, "state"), func(string) error { return nil }},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{dir: c.dir})
			h.sync()
			if err := c.block(c.dir); err != nil {
				t.Fatal(err)
			}
			events := len(h.pub.events(t, "error"))
			wantUnsaved(t, "mute", h.fails(`{"action":"mute"}`, CodeInternal))
			if s := h.pub.state(t); !s.Muted {
				t.Error("mute not applied")
			}
			wantUnsaved(t, "set_gain", h.fails(`{"action":"set_gain","gain_db":-6}`, CodeInternal))
			id := h.send(`{"action":"join","channel":"lobby"}`)
			h.ss.next(t).connect()
			wantUnsaved(t, "join", h.pub.reply(t, id))
			h.pub.awaitState(t, "joined")
			id = h.send(`{"action":"leave"}`)
			wantUnsaved(t, "leave", h.pub.reply(t, id))
			h.ok(`{"action":"status"}`)
			h.pub.await(t, "error events", func() bool { return len(h.pub.events(t, "error")) >= events+4 })
		})
	}
}
