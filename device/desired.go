package device

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/onair-dev/onair/internal/atomicfile"
)

// DesiredFile is the name of the desired state's file in the state
// directory.
const DesiredFile = "desired.json"

// desiredVersion is the version of DesiredFile's format.
const desiredVersion = 1

// maxDesiredSize bounds DesiredFile: a few hundred bytes in practice
// (the token is at most 8 KiB).
const maxDesiredSize = 64 << 10

// Desired is the state the fleet asked for: the channel (none when
// Channel is ""), the role, token and uid to join it with, and the input's
// mute and gain, which also hold while idle. It is what the agent writes
// to DesiredFile on every accepted change and re-applies at start.
type Desired struct {
	Channel string  `json:"channel,omitempty"`
	Role    Role    `json:"role,omitempty"`
	Token   string  `json:"token,omitempty"`
	UID     string  `json:"uid,omitempty"`
	Muted   bool    `json:"muted"`
	GainDB  float64 `json:"gain_db"`
}

// Joined reports whether d asks for a channel.
func (d Desired) Joined() bool { return d.Channel != "" }

// Validate checks d by the rules of the commands that set it.
func (d Desired) Validate() error {
	if !validGain(d.GainDB) {
		return fmt.Errorf("desired: gain_db %g: must be from %g to %g", d.GainDB, MinGainDB, MaxGainDB)
	}
	if !d.Joined() {
		if d.Role != RoleUnknown || d.Token != "" || d.UID != "" {
			return errors.New("desired: role, token and uid without a channel")
		}
		return nil
	}
	if err := validateChannel(d.Channel); err != nil {
		return fmt.Errorf("desired: channel: %w", err)
	}
	if d.Role != RoleHost && d.Role != RoleAudience {
		return fmt.Errorf("desired: role %s: must be host or audience", d.Role)
	}
	if err := validateToken(d.Token); err != nil {
		return fmt.Errorf("desired: token: %w", err)
	}
	if err := validateUID(d.UID); err != nil {
		return fmt.Errorf("desired: uid: %w", err)
	}
	return nil
}

// desiredOnDisk is DesiredFile's content: a version and the desired state.
type desiredOnDisk struct {
	Version int `json:"version"`
	Desired
}

// errNoDesired means the state directory holds no desired state yet.
var errNoDesired = errors.New("no desired state")

// loadDesired reads DesiredFile from dir. It returns errNoDesired when the
// file does not exist. A file that is not a regular file (a FIFO would
// block the agent before its loop starts), is larger than maxDesiredSize,
// cannot be decoded or does not validate is renamed aside to
// DesiredFile+".bad" (replacing an older one) and reported with an error
// wrapping errCorruptDesired.
func loadDesired(dir string) (Desired, error) {
	path := filepath.Join(dir, DesiredFile)
	b, err := readRegular(path, maxDesiredSize)
	if errors.Is(err, fs.ErrNotExist) {
		return Desired{}, errNoDesired
	}
	var d Desired
	var nr *notRegularError
	switch {
	case errors.As(err, &nr): // corrupt: renamed aside below
	case err != nil:
		return Desired{}, fmt.Errorf("desired: read: %w", err)
	default:
		d, err = decodeDesired(b)
	}
	if err != nil {
		bad := path + ".bad"
		if rerr := os.Rename(path, bad); rerr != nil {
			return Desired{}, fmt.Errorf("%w: %s: %w (and renaming it aside: %w)", errCorruptDesired, path, err, rerr)
		}
		return Desired{}, fmt.Errorf("%w: %s: %w; moved to %s", errCorruptDesired, path, err, bad)
	}
	return d, nil
}

// errCorruptDesired is wrapped by loadDesired's error for a corrupt file.
var errCorruptDesired = errors.New("corrupt desired state")

// notRegularError is readRegular's refusal of a file it will not read.
type notRegularError struct{ reason string }

func (e *notRegularError) Error() string { return e.reason }

// readRegular reads the regular file path of at most max bytes. It opens
// it with O_NONBLOCK, so that a FIFO or a device does not block the open,
// and checks the open file (fstat, no race with a rename) before reading;
// anything else is a *notRegularError.
func readRegular(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &notRegularError{fmt.Sprintf("not a regular file (%s)", fi.Mode().Type())}
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, &notRegularError{fmt.Sprintf("larger than %d bytes", max)}
	}
	return b, nil
}

// decodeDesired decodes DesiredFile's content strictly: unknown fields,
// another version or trailing data are errors.
func decodeDesired(b []byte) (Desired, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f desiredOnDisk
	if err := dec.Decode(&f); err != nil {
		return Desired{}, fmt.Errorf("decode: %w", err)
	}
	if dec.More() {
		return Desired{}, errors.New("decode: trailing data")
	}
	if f.Version != desiredVersion {
		return Desired{}, fmt.Errorf("version %d: want %d", f.Version, desiredVersion)
	}
	if err := f.Desired.Validate(); err != nil {
		return Desired{}, err
	}
	return f.Desired, nil
}

// saveDesired writes d to DesiredFile in dir so that a power cut leaves
// either the old or the new file, never a torn one: a temporary file in
// the same directory, written and fsynced, renamed over the old one, then
// the directory fsynced. The file has mode 0600: it holds a token.
func saveDesired(dir string, d Desired) error {
	b, err := json.MarshalIndent(desiredOnDisk{Version: desiredVersion, Desired: d}, "", "  ")
	if err != nil {
		return fmt.Errorf("desired: encode: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, DesiredFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("desired: %w", err)
	}
	return nil
}
