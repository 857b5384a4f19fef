package broker

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// User names of the Credentials on the embedded broker.
const (
	BoardUser    = "onair-board"
	OperatorUser = "onair-operator"
)

// CredentialsFile is the name, in the state directory, of the file that
// holds a standalone board's Credentials (mode 0600).
const CredentialsFile = "broker-credentials.json"

// Credentials are the passwords of the board's own connection (user
// BoardUser) and of its operator, onair ctl on the same machine (user
// OperatorUser), on the embedded broker.
type Credentials struct {
	Board    string `json:"board"`
	Operator string `json:"operator"`
}

// minSecret is the shortest password accepted from CredentialsFile.
const minSecret = 32

func (c Credentials) valid() bool { return len(c.Board) >= minSecret && len(c.Operator) >= minSecret }

// LoadOrCreateCredentials returns the Credentials kept in dir's
// CredentialsFile, generating them (random, 256 bits each) and writing
// the file, mode 0600, when there is none or it is unusable.
func LoadOrCreateCredentials(dir string) (Credentials, error) {
	c, err := ReadCredentials(dir)
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errBadCredentials) {
		return Credentials{}, err
	}
	if c.Board, err = secret(); err != nil {
		return Credentials{}, err
	}
	if c.Operator, err = secret(); err != nil {
		return Credentials{}, err
	}
	b, _ := json.Marshal(c)
	path := filepath.Join(dir, CredentialsFile)
	f, err := os.CreateTemp(dir, "."+CredentialsFile+".tmp-*")
	if err != nil {
		return Credentials{}, fmt.Errorf("broker credentials: %w", err)
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return Credentials{}, fmt.Errorf("broker credentials: write %s: %w", path, err)
	}
	return c, nil
}

// errBadCredentials is wrapped by ReadCredentials for a file it cannot use.
var errBadCredentials = errors.New("unusable")

// ReadCredentials reads dir's CredentialsFile; an error wraps
// fs.ErrNotExist when there is none (the board has not run yet, or this
// is not its state directory).
func ReadCredentials(dir string) (Credentials, error) {
	path := filepath.Join(dir, CredentialsFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("broker credentials: %w", err)
	}
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil || !c.valid() {
		return Credentials{}, fmt.Errorf("broker credentials: %s: %w", path, errBadCredentials)
	}
	return c, nil
}

func secret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("broker credentials: random: %w", err)
	}
	return hex.EncodeToString(b), nil
}
