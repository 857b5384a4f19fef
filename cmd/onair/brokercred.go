package main

import (
	"fmt"

	"github.com/onair-dev/onair/broker"
	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/provision"
)

// ctlCredentials are the MQTT user name and password of onair ctl: the
// configured ones, or, against the embedded broker of the board on this
// machine (mqtt.broker embedded, no --broker flag, no mqtt.username), the
// operator credential the board generated in its state directory; only
// its operator may send it commands (broker.Board).
func ctlCredentials(cfg *config.Config, brokerFlag string) (user, pass string, err error) {
	if cfg.MQTT.Broker != "embedded" || brokerFlag != "" || cfg.MQTT.Username != "" {
		return cfg.MQTT.Username, cfg.MQTT.Password, nil
	}
	dir, err := provision.StateDir(cfg.Device.StateDir)
	if err != nil {
		return "", "", err
	}
	creds, err := broker.ReadCredentials(dir)
	if err != nil {
		return "", "", fmt.Errorf("the embedded broker's operator credential (run onair ctl as the board's user, with its configuration): %w", err)
	}
	return broker.OperatorUser, creds.Operator, nil
}
