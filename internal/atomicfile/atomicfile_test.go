package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteFileReplaces: the file gets the data and the mode, an existing
// one is replaced, and no temporary file is left in the directory.
func TestWriteFileReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	if err := os.WriteFile(path, []byte("old content that is longer"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "new\n" {
		t.Errorf("content %q, want %q", b, "new\n")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	assertOnly(t, dir, "secret")
}

// TestCopyOwnsBeforeWriting: own sees the temporary file, with its mode
// set and still empty; when own fails, path keeps its old content and the
// temporary file is removed.
func TestCopyOwnsBeforeWriting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	var seen string
	own := func(name string) error {
		seen = name
		fi, err := os.Stat(name)
		if err != nil {
			return err
		}
		if fi.Size() != 0 || fi.Mode().Perm() != 0o640 {
			t.Errorf("own saw size %d, mode %v: want an empty file with mode 0640", fi.Size(), fi.Mode().Perm())
		}
		return errors.New("no such group")
	}
	err := Copy(path, strings.NewReader("new"), 0o640, own)
	if err == nil || !strings.Contains(err.Error(), "no such group") {
		t.Fatalf("Copy error %v, want own's error", err)
	}
	if filepath.Dir(seen) != dir || seen == path {
		t.Errorf("own called with %q, want a temporary file in %s", seen, dir)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("content %q after a failed write, want the old %q", b, "old")
	}
	assertOnly(t, dir, "config.yaml")
}

// TestWriteFileMissingDir: a directory that does not exist is an error
// naming the path.
func TestWriteFileMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "f")
	err := WriteFile(path, []byte("x"), 0o600)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v, want one wrapping fs.ErrNotExist naming %s", err, path)
	}
}

// assertOnly fails t unless dir holds exactly the files names.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("directory holds %v, want %v", got, names)
	}
}
