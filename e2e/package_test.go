package e2e

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/onair-dev/onair/systemd"
)

// debVersion is the version the package tests stamp.
const debVersion = "1.2.3~test"

// requireDpkgDeb skips where dpkg-deb is missing, unless CI is set.
func requireDpkgDeb(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err == nil {
		return
	}
	msg := "package tests need dpkg-deb (apt-get install dpkg)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg + "; skipped because CI is unset")
}

// buildDeb runs packaging/build-deb.sh for arch with bin and returns the
// .deb's path.
func buildDeb(t *testing.T, arch, bin string) string {
	t.Helper()
	cmd := exec.Command("../packaging/build-deb.sh", "--arch", arch, "--bin", bin,
		"--version", debVersion, "--out", t.TempDir(), "--config", "../config.yaml")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("build-deb.sh: %v\n%s", err, stderr.String())
	}
	deb := strings.TrimSpace(string(out))
	if want := "onair_" + debVersion + "_" + arch + ".deb"; filepath.Base(deb) != want {
		t.Fatalf("built %s, want %s", deb, want)
	}
	return deb
}

// binaryFor returns the binary to package for arch: the amd64 test binary,
// or the cross build where its toolchain is here (any file makes a
// well-formed package; CI has the toolchains).
func binaryFor(t *testing.T, arch string) string {
	t.Helper()
	for _, c := range crossTargets {
		if c.deb == arch {
			if c.available() {
				return c.binary(t)
			}
			t.Logf("%s toolchain missing (%s): packaging the amd64 binary as a stand-in", arch, strings.Join(c.missing(), ", "))
		}
	}
	return onairBin
}

// debEntry is one line of `dpkg-deb -c`.
type debEntry struct{ mode, owner string }

// debContents lists the package's files: path → mode and owner.
func debContents(t *testing.T, deb string) map[string]debEntry {
	t.Helper()
	out, err := exec.Command("dpkg-deb", "-c", deb).Output()
	if err != nil {
		t.Fatalf("dpkg-deb -c: %v", err)
	}
	entries := map[string]debEntry{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// -rwxr-xr-x root/root  13411520 2026-11-24 03:45 ./usr/bin/onair
		f := strings.Fields(sc.Text())
		if len(f) < 6 {
			t.Fatalf("dpkg-deb -c line %q", sc.Text())
		}
		entries[strings.TrimPrefix(f[len(f)-1], ".")] = debEntry{mode: f[0], owner: f[1]}
	}
	return entries
}

// TestDebPackages builds the arm64, armhf and amd64 packages and checks
// their control fields, files, modes, conffiles and maintainer scripts,
// and that the packaged binary, unit and configuration are the ones of
// this tree.
func TestDebPackages(t *testing.T) {
	t.Parallel()
	requireDpkgDeb(t)
	config, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"arm64", "armhf", "amd64"} {
		t.Run(arch, func(t *testing.T) {
			bin := binaryFor(t, arch)
			deb := buildDeb(t, arch, bin)

			fields := map[string]string{
				"Package": "onair", "Version": debVersion, "Architecture": arch,
				"Section": "sound", "Priority": "optional", "Homepage": "https://github.com/onair-dev/onair",
			}
			for field, want := range fields {
				out, err := exec.Command("dpkg-deb", "-f", deb, field).Output()
				if got := strings.TrimSpace(string(out)); err != nil || got != want {
					t.Errorf("%s: %q (%v), want %q", field, got, err, want)
				}
			}
			out, err := exec.Command("dpkg-deb", "-f", deb, "Depends", "Maintainer", "Description").Output()
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"libopus0", "libportaudio2", "libasound2", "libc6", "Maintainer: ", "Description: "} {
				if !strings.Contains(string(out), want) {
					t.Errorf("control lacks %q:\n%s", want, out)
				}
			}

			files := debContents(t, deb)
			want := map[string]string{
				"/usr/bin/onair":                    "-rwxr-xr-x",
				"/lib/systemd/system/onair.service": "-rw-r--r--",
				"/etc/onair/config.yaml":            "-rw-r-----",
			}
			for path, mode := range want {
				e, ok := files[path]
				if !ok {
					t.Errorf("no %s in the package", path)
					continue
				}
				if e.mode != mode || e.owner != "root/root" {
					t.Errorf("%s: %s %s, want %s root/root", path, e.mode, e.owner, mode)
				}
			}
			for path, e := range files {
				if _, ok := want[path]; !ok && !strings.HasSuffix(path, "/") {
					t.Errorf("unexpected file %s in the package", path)
				} else if strings.HasSuffix(path, "/") && e.mode != "drwxr-xr-x" {
					t.Errorf("directory %s: %s, want drwxr-xr-x", path, e.mode)
				}
			}

			control := t.TempDir()
			if out, err := exec.Command("dpkg-deb", "-e", deb, control).CombinedOutput(); err != nil {
				t.Fatalf("dpkg-deb -e: %v\n%s", err, out)
			}
			conffiles, err := os.ReadFile(filepath.Join(control, "conffiles"))
			if err != nil || strings.TrimSpace(string(conffiles)) != "/etc/onair/config.yaml" {
				t.Errorf("conffiles %q (%v), want /etc/onair/config.yaml", conffiles, err)
			}
			for _, script := range []string{"postinst", "prerm", "postrm"} {
				path := filepath.Join(control, script)
				if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o755 {
					t.Errorf("%s: %v, want an executable script", script, err)
					continue
				}
				if out, err := exec.Command("sh", "-n", path).CombinedOutput(); err != nil {
					t.Errorf("%s: sh -n: %v\n%s", script, err, out)
				}
			}

			tree := t.TempDir()
			if out, err := exec.Command("dpkg-deb", "-x", deb, tree).CombinedOutput(); err != nil {
				t.Fatalf("dpkg-deb -x: %v\n%s", err, out)
			}
			sameFile(t, filepath.Join(tree, "usr/bin/onair"), mustRead(t, bin))
			sameFile(t, filepath.Join(tree, "lib/systemd/system/onair.service"), systemd.Unit)
			sameFile(t, filepath.Join(tree, "etc/onair/config.yaml"), config)
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameFile checks that the file at path holds want.
func sameFile(t *testing.T, path string, want []byte) {
	t.Helper()
	if !bytes.Equal(mustRead(t, path), want) {
		t.Errorf("%s differs from its source", path)
	}
}

// TestDebInstalls installs the amd64 package with dpkg on this machine, as
// on a board: the user onair exists in group audio, the configuration is
// 0640 root:onair, the unit verifies, the binary runs and the service is
// not enabled; then it purges the package (and removes the user if the
// test created it). It changes the machine, so it runs only where CI or
// ONAIR_TEST_DPKG=1 is set, as root, and never over an installed onair.
//
// Not parallel: it installs onair on this machine.
func TestDebInstalls(t *testing.T) {
	requireDpkgDeb(t)
	if os.Getenv("CI") == "" && os.Getenv("ONAIR_TEST_DPKG") != "1" {
		t.Skip("installs a package on this machine: set ONAIR_TEST_DPKG=1 (CI does)")
	}
	if os.Geteuid() != 0 {
		t.Skip("dpkg -i needs root")
	}
	if exec.Command("dpkg-query", "-W", "onair").Run() == nil {
		t.Skip("an onair package is installed here already; not touching it")
	}
	_, err := user.Lookup("onair")
	userExisted := err == nil

	deb := buildDeb(t, "amd64", onairBin)
	t.Cleanup(func() {
		if out, err := exec.Command("dpkg", "--purge", "onair").CombinedOutput(); err != nil {
			t.Errorf("dpkg --purge onair: %v\n%s", err, out)
		}
		if _, err := os.Stat("/usr/bin/onair"); err == nil {
			t.Error("/usr/bin/onair left after purge")
		}
		if _, err := os.Stat("/etc/onair/config.yaml"); err == nil {
			t.Error("/etc/onair/config.yaml left after purge")
		}
		if !userExisted {
			if out, err := exec.Command("userdel", "onair").CombinedOutput(); err != nil {
				t.Errorf("userdel onair: %v\n%s", err, out)
			}
		}
	})
	if out, err := exec.Command("dpkg", "-i", deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}

	u, err := user.Lookup("onair")
	if err != nil {
		t.Fatalf("no user onair after install: %v", err)
	}
	audio, err := user.LookupGroup("audio")
	if err != nil {
		t.Fatal(err)
	}
	gids, err := u.GroupIds()
	if err != nil {
		t.Fatal(err)
	}
	if !contains(gids, audio.Gid) {
		t.Errorf("onair's groups %v lack audio (%s)", gids, audio.Gid)
	}
	group, err := user.LookupGroup("onair")
	if err != nil {
		t.Fatalf("no group onair: %v", err)
	}

	fi, err := os.Stat("/etc/onair/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode().Perm() != 0o640 || st.Uid != 0 || strconv.Itoa(int(st.Gid)) != group.Gid {
		t.Errorf("/etc/onair/config.yaml: %v uid %d gid %d, want 0640 root:onair (gid %s)",
			fi.Mode().Perm(), st.Uid, st.Gid, group.Gid)
	}

	if out, err := exec.Command("systemd-analyze", "verify", "/lib/systemd/system/onair.service").CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	if out, err := exec.Command("/usr/bin/onair", "version").CombinedOutput(); err != nil {
		t.Errorf("onair version: %v\n%s", err, out)
	}
	if _, err := os.Lstat("/etc/systemd/system/multi-user.target.wants/onair.service"); err == nil {
		t.Error("the package enabled the service")
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
