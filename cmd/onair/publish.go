package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/onair-dev/onair/audio"
	"github.com/onair-dev/onair/channel"
	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/uplink"
)

func newPublishCommand(stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Publish the input as a host into a channel (WHIP) until interrupted",
		Long: `Publish captures the input, encodes Opus and publishes it as a host into the
channel through the WHIP endpoint, reconnecting as needed, until SIGINT or
SIGTERM; then it deletes its session and exits.`,
		Example: `  onair publish --url http://127.0.0.1:8080/whip/{channel} --channel demo --input tone:440`,
		Args:    cobra.NoArgs,
	}
	f := cmd.Flags()
	f.String("url", "", "WHIP endpoint template, {channel} and {uid} substituted (uplink.whip_url)")
	f.String("token", "", "Bearer token (uplink.token)")
	f.String("channel", "", "channel name (uplink.channel)")
	f.String("uid", "", "user id (uplink.uid)")
	f.String("input", "", "default | device index | device name | tone:<Hz> | file:<path.wav> (audio.input)")
	load := configFlags(f, map[string]string{
		"url": "uplink.whip_url", "token": "uplink.token", "channel": "uplink.channel",
		"uid": "uplink.uid", "input": "audio.input",
	})
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := load()
		if err != nil {
			return err
		}
		return publish(cmd.Context(), cfg, newLogger(cfg.Log, stderr))
	}
	return cmd
}

// publish runs one host session until ctx ends.
func publish(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	uid := cfg.Uplink.UID
	if uid == "" {
		uid, _ = os.Hostname()
	}
	url := channel.ExpandURL(cfg.Uplink.WHIPURL, cfg.Uplink.Channel, uid)

	format := audio.Format{SampleRate: cfg.Audio.SampleRate, Channels: cfg.Audio.Channels, FrameMs: cfg.Audio.FrameMs}
	src, err := audio.OpenSource(cfg.Audio.Input, format, log.With("component", "audio"))
	if err != nil {
		return err
	}
	defer src.Close()
	pipe, err := audio.NewPipeline(audio.PipelineConfig{
		Source: src,
		GainDB: cfg.Audio.GainDB,
		Opus:   opusOptions(cfg.Opus),
		Log:    log.With("component", "audio"),
	})
	if err != nil {
		return err
	}

	ulog := log.With("component", "uplink")
	pub, err := uplink.NewPublisher(uplink.PublisherConfig{
		URL:            url,
		Token:          cfg.Uplink.Token,
		ICEServers:     iceServers(cfg.WebRTC.ICEServers),
		Network:        uplink.NetworkConfig{Interfaces: cfg.WebRTC.Interfaces, Loopback: cfg.WebRTC.Loopback},
		Channels:       cfg.Audio.Channels,
		RequestTimeout: cfg.Uplink.RequestTimeout,
		RetryMin:       cfg.Uplink.RetryMin,
		RetryMax:       cfg.Uplink.RetryMax,
		Log:            log,
		OnState: func(s uplink.State, err error) {
			if err != nil {
				ulog.Warn("publisher "+s.String(), "channel", cfg.Uplink.Channel, "error", err)
				return
			}
			ulog.Info("publisher "+s.String(), "channel", cfg.Uplink.Channel, "uid", uid)
		},
	})
	if err != nil {
		return err
	}

	log.Info("publishing", "url", url, "channel", cfg.Uplink.Channel, "uid", uid, "input", cfg.Audio.Input,
		"rate", format.SampleRate, "channels", format.Channels, "frame_ms", format.FrameMs)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return pipe.Run(gctx, func(f audio.Frame) error { return pub.WriteOpus(f.Payload, f.Samples) })
	})
	g.Go(func() error {
		err := pub.Run(gctx)
		if err == nil && ctx.Err() == nil {
			err = errors.New("publisher stopped")
		}
		return err
	})
	err = g.Wait()
	st := pub.Stats()
	log.Info("stopped", "frames", pipe.Frames(), "packets_sent", st.PacketsSent, "bytes_sent", st.BytesSent)
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		return nil
	}
	return fmt.Errorf("publish: %w", err)
}

func opusOptions(o config.Opus) audio.OpusOptions {
	return audio.OpusOptions{
		Bitrate: o.Bitrate, Complexity: o.Complexity, Application: o.Application,
		FEC: o.FEC, ExpectedLoss: o.ExpectedLoss, DTX: o.DTX,
	}
}

func iceServers(list []config.ICEServer) []uplink.ICEServer {
	out := make([]uplink.ICEServer, 0, len(list))
	for _, s := range list {
		out = append(out, uplink.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	return out
}
