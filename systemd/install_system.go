package systemd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
)

// system is what Install does to the machine beyond writing files. Tests
// replace its functions; the zero value (run == nil) means "files only".
type system struct {
	euid           func() int
	run            func(name string, args ...string) error
	lookupGroup    func(name string) (gid int, found bool, err error)
	lookupUser     func(name string) (found bool, err error)
	chown          func(path string, uid, gid int) error
	systemdRunning func() bool
}

// hostSystem is the real machine.
func hostSystem() system {
	return system{
		euid:           os.Geteuid,
		run:            runCommand,
		lookupGroup:    lookupGroup,
		lookupUser:     lookupUser,
		chown:          os.Chown,
		systemdRunning: systemdRunning,
	}
}

// ensureUser creates the audio group, and the system user and group onair
// in it, where they are missing; it returns onair's group id.
func (s system) ensureUser(out io.Writer) (int, error) {
	if _, found, err := s.lookupGroup(AudioGroup); err != nil {
		return 0, err
	} else if !found {
		if err := s.run("groupadd", "--system", AudioGroup); err != nil {
			return 0, err
		}
		fmt.Fprintf(out, "created group %s\n", AudioGroup)
	}
	found, err := s.lookupUser(ServiceUser)
	if err != nil {
		return 0, err
	}
	if found {
		// Idempotent: an existing onair user gets the sound devices too.
		if err := s.run("usermod", "--append", "--groups", AudioGroup, ServiceUser); err != nil {
			return 0, err
		}
	} else {
		if err := s.run("useradd", "--system", "--user-group", "--no-create-home",
			"--home-dir", "/var/lib/onair", "--shell", "/usr/sbin/nologin",
			"--groups", AudioGroup, "--comment", "onair broadcaster", ServiceUser); err != nil {
			return 0, err
		}
		fmt.Fprintf(out, "created user %s (groups %s, %s)\n", ServiceUser, ServiceUser, AudioGroup)
	}
	gid, found, err := s.lookupGroup(ServiceUser)
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("group %s: missing after creating user %s", ServiceUser, ServiceUser)
	}
	return gid, nil
}

// enable reloads systemd's units, where systemd runs, and enables onair
// (systemctl enable works without a running systemd, as in an image).
func (s system) enable(out io.Writer) error {
	if s.systemdRunning() {
		if err := s.run("systemctl", "daemon-reload"); err != nil {
			return err
		}
	}
	if err := s.run("systemctl", "enable", UnitName); err != nil {
		return err
	}
	fmt.Fprintf(out, "enabled %s\n", UnitName)
	return nil
}

// runCommand runs name with args; a failure carries the command's output.
func runCommand(name string, args ...string) error {
	b, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(b))
		if msg != "" {
			return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
		}
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// lookupGroup reports a group's id.
func lookupGroup(name string) (int, bool, error) {
	g, err := user.LookupGroup(name)
	var unknown user.UnknownGroupError
	if errors.As(err, &unknown) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("group %s: %w", name, err)
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return 0, false, fmt.Errorf("group %s: gid %q: %w", name, g.Gid, err)
	}
	return gid, true, nil
}

// lookupUser reports whether a user exists.
func lookupUser(name string) (bool, error) {
	_, err := user.Lookup(name)
	var unknown user.UnknownUserError
	if errors.As(err, &unknown) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("user %s: %w", name, err)
	}
	return true, nil
}

// systemdRunning reports whether systemd is the init system
// (sd_booted(3)).
func systemdRunning() bool {
	_, err := os.Stat("/run/systemd/system")
	return err == nil
}
