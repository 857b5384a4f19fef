package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/onair-dev/onair/control"
	"github.com/onair-dev/onair/daemon"
)

// ctlError is an error reply (exit 1) or no reply in time (exit 2).
type ctlError struct {
	code int
	err  error
}

func (e *ctlError) Error() string { return e.err.Error() }

func newCtlCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ctl DEVICE ACTION",
		Short: "Send one command to a device over MQTT and print its reply",
		Long: `Ctl sends one command of the MQTT contract to DEVICE and prints the reply
JSON. ACTION is join, leave, set_role, mute, unmute, set_gain, renew_token or
status. It exits 0 on an ok reply, 1 on an error reply, 2 when no reply came
within --timeout. Against the embedded broker of a board on this machine
(mqtt.broker embedded, no --broker, no mqtt.username) it authenticates
with the operator credential the board keeps in its state directory.`,
		Example: `  onair ctl board-7 join --channel lobby --role host
  onair ctl board-7 set_role --role audience
  onair ctl board-7 status --broker tcp://broker.example.net:1883`,
		Args: cobra.ExactArgs(2),
	}
	f := cmd.Flags()
	ch := f.String("channel", "", "channel (join)")
	role := f.String("role", "", "host or audience (join, set_role)")
	tok := f.String("token", "", "token (join, renew_token)")
	uid := f.String("uid", "", "uid (join)")
	gain := f.Float64("gain-db", 0, "input gain in dB (set_gain)")
	brokerFlag := f.String("broker", "", "MQTT broker URL; default: mqtt.broker of the configuration")
	timeout := f.Duration("timeout", control.DefaultRequestTimeout, "how long to wait for the reply")
	load := configFlags(f, nil)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := load()
		if err != nil {
			return err
		}
		c := map[string]any{"id": "ctl-" + randomHex(6), "action": args[1]}
		for k, v := range map[string]string{"channel": *ch, "role": *role, "token": *tok, "uid": *uid} {
			if v != "" {
				c[k] = v
			}
		}
		if f.Changed("gain-db") {
			c["gain_db"] = *gain
		}
		payload, err := json.Marshal(c)
		if err != nil {
			return err
		}
		url := *brokerFlag
		if url == "" {
			url = daemon.BrokerURL(cfg)
		}
		user, pass, err := ctlCredentials(cfg, *brokerFlag)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), *timeout+5*time.Second)
		defer cancel()
		reply, err := control.Request(ctx, control.Config{
			Broker: url, TopicPrefix: cfg.MQTT.TopicPrefix, Username: user, Password: pass,
			CAFile: cfg.MQTT.CAFile, CertFile: cfg.MQTT.CertFile, KeyFile: cfg.MQTT.KeyFile,
		}, args[0], payload, *timeout)
		if errors.Is(err, control.ErrTimeout) {
			return &ctlError{2, fmt.Errorf("no reply from %s within %s", args[0], *timeout)}
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(reply))
		var r struct {
			OK bool `json:"ok"`
		}
		if json.Unmarshal(reply, &r) != nil || !r.OK {
			return &ctlError{1, errors.New("the device answered with an error")}
		}
		return nil
	}
	return cmd
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
