package systemd

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeAtomic writes r to path so that a power loss leaves either the old
// file or the complete new one: a temporary file in the same directory,
// mode set (and owner, where own is not nil) before any byte is visible
// under path, fsync, rename, fsync of the directory.
func writeAtomic(path string, r io.Reader, mode os.FileMode, own func(name string) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if own != nil {
		if err := own(tmp.Name()); err != nil {
			return err
		}
	}
	if _, err := io.Copy(tmp, r); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	return d.Sync()
}
