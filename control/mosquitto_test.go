package control_test

import "os"

// chmod makes a file mosquitto_passwd wrote (0600) readable by Mosquitto.
func chmod(path string) error { return os.Chmod(path, 0o644) }
