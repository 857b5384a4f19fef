package systemd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/onair-dev/onair/internal/atomicfile"
)

// ErrNotRoot is returned by Install when it runs without root privileges
// outside InstallOptions.Root.
var ErrNotRoot = errors.New("must run as root (try sudo)")

// InstallOptions configures Install.
type InstallOptions struct {
	// Config is written to /etc/onair/config.yaml when that file does not
	// exist yet: the shipped config.yaml with every key at its default.
	Config []byte
	// Bin is where the binary goes, DefaultBin when empty; the unit's
	// ExecStart= is rewritten to match.
	Bin string
	// Source is the binary to install, the running executable when empty.
	Source string
	// Root, when set, installs the files into this directory tree instead
	// of /, as they would be on the board, and does nothing else: no user,
	// no ownership, no systemctl, no root privileges needed (images, tests).
	Root string
	// Out receives one line per step done; nil discards them.
	Out io.Writer
}

// Install sets the binary up as a systemd service, as the .deb does, for
// `onair install`: it creates the system user onair (group onair, member
// of audio) if absent, copies the binary to Bin, writes the unit to
// /etc/systemd/system/onair.service, writes /etc/onair/config.yaml
// (0640 root:onair) only if it does not exist, then runs `systemctl
// daemon-reload` (where systemd runs) and `systemctl enable onair`. It does
// not start the service. Without root it fails with ErrNotRoot. Running it
// again upgrades the binary and the unit and keeps the configuration.
func Install(opts InstallOptions) error {
	sys := hostSystem()
	if opts.Root != "" {
		sys = system{}
	}
	return install(opts, opts.Root, sys)
}

// install does Install's work with paths under root; sys is nil-valued
// (no user, ownership or systemctl) for a directory tree.
func install(opts InstallOptions, root string, sys system) error {
	managed := sys.run != nil
	if managed && sys.euid() != 0 {
		return fmt.Errorf("install: %w", ErrNotRoot)
	}
	if len(opts.Config) == 0 {
		return errors.New("install: no configuration to install")
	}
	if root == "" {
		root = "/"
	}
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	bin := opts.Bin
	if bin == "" {
		bin = DefaultBin
	}
	if !filepath.IsAbs(bin) {
		return fmt.Errorf("install: binary path %q: must be absolute", bin)
	}
	source, err := sourceBinary(opts.Source)
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}

	var gid int
	if managed {
		if gid, err = sys.ensureUser(out); err != nil {
			return fmt.Errorf("install: %w", err)
		}
	}
	if err := installBinary(source, filepath.Join(root, bin), out); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	unitPath := filepath.Join(root, "etc/systemd/system", UnitName)
	if err := installFile(unitPath, unitFor(bin), 0o644, nil, out); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	var own func(string) error
	if managed {
		own = func(name string) error { return sys.chown(name, 0, gid) }
	}
	if err := installConfig(filepath.Join(root, DefaultConfig), opts.Config, own, out); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	if managed {
		if err := sys.enable(out); err != nil {
			return fmt.Errorf("install: %w", err)
		}
		fmt.Fprintf(out, "start it with: systemctl start onair; its log: journalctl -u onair -f\n")
	}
	return nil
}

// sourceBinary resolves the binary to copy: path, or the running one.
func sourceBinary(path string) (string, error) {
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("find the running binary: %w", err)
		}
		path = exe
	}
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("binary: %w", err)
	}
	return resolved, nil
}

// installBinary copies source to dst (0755), unless dst is source already.
func installBinary(source, dst string, out io.Writer) error {
	if si, err := os.Stat(source); err != nil {
		return fmt.Errorf("binary: %w", err)
	} else if di, err := os.Stat(dst); err == nil && os.SameFile(si, di) {
		fmt.Fprintf(out, "kept %s (it is the running binary)\n", dst)
		return nil
	}
	f, err := os.Open(source)
	if err != nil {
		return fmt.Errorf("binary: %w", err)
	}
	defer f.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("binary: %w", err)
	}
	if err := atomicfile.Copy(dst, f, 0o755, nil); err != nil {
		return fmt.Errorf("binary: %w", err)
	}
	fmt.Fprintf(out, "installed %s\n", dst)
	return nil
}

// installFile writes data to path, replacing what was there.
func installFile(path string, data []byte, mode os.FileMode, own func(string) error, out io.Writer) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := atomicfile.Copy(path, bytes.NewReader(data), mode, own); err != nil {
		return err
	}
	fmt.Fprintf(out, "installed %s\n", path)
	return nil
}

// installConfig writes the configuration file only where there is none:
// an administrator's edits survive reinstalls and upgrades.
func installConfig(path string, data []byte, own func(string) error, out io.Writer) error {
	if _, err := os.Lstat(path); err == nil {
		fmt.Fprintf(out, "kept %s (it exists)\n", path)
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("config: %w", err)
	}
	return installFile(path, data, 0o640, own, out)
}

// unitFor returns the unit with ExecStart= pointing at bin.
func unitFor(bin string) []byte {
	if bin == DefaultBin {
		return Unit
	}
	return bytes.ReplaceAll(Unit, []byte("ExecStart="+DefaultBin+" "), []byte("ExecStart="+bin+" "))
}
