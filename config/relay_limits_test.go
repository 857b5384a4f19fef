package config

import (
	"errors"
	"testing"
	"time"
)

// TestRelayLimitKeys: the relay's admission limits are keys of their own,
// loaded from the file and checked, each error naming its key.
func TestRelayLimitKeys(t *testing.T) {
	cfg, err := Load(Sources{File: writeFile(t, "relay:\n  connect_timeout: 12s\n  max_pending_per_uid: 2\n  max_pending_per_addr: 5\n  host_reserve: 0\n")})
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Relay; r.ConnectTimeout != 12*time.Second || r.MaxPendingPerUID != 2 || r.MaxPendingPerAddr != 5 || r.HostReserve != 0 {
		t.Errorf("relay limits %+v", r)
	}
	for _, c := range []struct{ file, key string }{
		{"relay:\n  connect_timeout: 100ms\n", "relay.connect_timeout"},
		{"relay:\n  max_pending_per_uid: 0\n", "relay.max_pending_per_uid"},
		{"relay:\n  max_pending_per_addr: -1\n", "relay.max_pending_per_addr"},
		{"relay:\n  max_sessions: 10\n  host_reserve: 10\n", "relay.host_reserve"},
		{"relay:\n  host_reserve: -1\n", "relay.host_reserve"},
	} {
		_, err := Load(Sources{File: writeFile(t, c.file)})
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != c.key {
			t.Errorf("%q: Load = %v, want an error naming %s", c.file, err, c.key)
		}
	}
}
