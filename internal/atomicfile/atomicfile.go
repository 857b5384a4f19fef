// Package atomicfile writes files that must survive a power cut: after a
// crash at any point the path holds either the old file or the complete
// new one, never a torn or empty one (tailscale's atomicfile does the same).
package atomicfile

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data, mode perm: a temporary file in the
// same directory gets its mode, then the data, is fsynced and renamed over
// path, then the directory is fsynced so that the rename itself is durable.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Copy(path, bytes.NewReader(data), perm, nil)
}

// Copy is WriteFile with the content read from r. When own is not nil it
// is called with the temporary file's name after its mode is set and
// before any byte is written (to chown it), so that nothing is ever
// visible under path with the wrong mode or owner.
func Copy(path string, r io.Reader, perm os.FileMode, own func(name string) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: chmod: %w", path, err)
	}
	if own != nil {
		if err = own(tmp); err != nil {
			return fmt.Errorf("write %s: chown: %w", path, err)
		}
	}
	if _, err = io.Copy(f, r); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: fsync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: close: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: rename: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("write %s: open dir: %w", path, err)
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return fmt.Errorf("write %s: fsync dir: %w", path, err)
	}
	return nil
}
