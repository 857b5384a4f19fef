package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/onair-dev/onair/audio"
	"github.com/onair-dev/onair/channel"
	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/relay"
	"github.com/onair-dev/onair/session"
	"github.com/onair-dev/onair/uplink"
)

var loopback = uplink.NetworkConfig{Interfaces: []string{"lo"}, Loopback: true}

// serveRelay runs an anonymous relay on loopback until the benchmark ends.
func serveRelay(b *testing.B) string {
	r, err := relay.New(relay.Config{AllowAnonymous: true, Network: loopback}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, ln) }()
	b.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String()
}

// clickSource is silence with a full-scale 1 ms click at the start of
// every 25th frame (every 500 ms at 20 ms frames).
type clickSource struct {
	f Format
	n int
}

// Format is the audio.Format of a clickSource.
type Format = audio.Format

func (c *clickSource) Format() audio.Format { return c.f }
func (c *clickSource) Close() error         { return nil }
func (c *clickSource) Read(buf []float32) error {
	clear(buf)
	if c.n%25 == 0 {
		for i := 0; i < 48; i++ {
			buf[i] = 0.9
		}
	}
	c.n++
	return nil
}

// clickLog pairs the moments clicks enter the host and leave the audience.
type clickLog struct {
	mu      sync.Mutex
	in, out []time.Time
	lastOut time.Time
}

func (l *clickLog) addIn(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.in = append(l.in, t)
}

func (l *clickLog) addOut(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.Sub(l.lastOut) > 200*time.Millisecond {
		l.out = append(l.out, t)
	}
	l.lastOut = t
}

// BenchmarkClickLatency measures, on loopback, the time from a click
// entering the host's input to the click leaving the audience's output:
// host pipeline (20 ms frames, paced) → WHIP → relay → WHEP → jitter
// buffer (40 ms target) → decode → mix → output. Sound-card buffers are
// not included (the output is a paced sink); the floor is one frame, the
// Opus look-ahead (6.5 ms) and the jitter buffer.
func BenchmarkClickLatency(b *testing.B) {
	base := serveRelay(b)
	f := audio.Format{SampleRate: 48000, Channels: 1, FrameMs: 20}
	d := config.Defaults()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := &clickLog{}

	pipe, err := audio.NewPipeline(audio.PipelineConfig{Source: &clickSource{f: f}, Opus: audio.OpusOptions{
		Bitrate: d.Opus.Bitrate, Complexity: d.Opus.Complexity, Application: d.Opus.Application,
		FEC: d.Opus.FEC, ExpectedLoss: d.Opus.ExpectedLoss}})
	if err != nil {
		b.Fatal(err)
	}
	pub, err := uplink.NewPublisher(uplink.PublisherConfig{URL: base + "/whip/click", Network: loopback})
	if err != nil {
		b.Fatal(err)
	}
	pacer := audio.NewPacer(f.FrameDuration())
	out := audio.NewFuncOutput(f, func(frame []float32) error {
		if err := pacer.Wait(ctx, time.Now()); err != nil {
			return err
		}
		now := time.Now()
		for i, v := range frame {
			if v > 0.3 || v < -0.3 {
				log.addOut(now.Add(time.Duration(i) * time.Second / 48000))
				break
			}
		}
		return nil
	})
	player, err := audio.NewPlayer(audio.PlayerConfig{Format: f, Sink: out, TargetDelay: d.Audio.JitterDelay})
	if err != nil {
		b.Fatal(err)
	}
	defer player.Close()
	sub, err := uplink.NewSubscriber(uplink.SubscriberConfig{URL: base + "/whep/click", Network: loopback,
		Sink: sinkFunc(func(id uplink.StreamID, p *rtp.Packet, at time.Time) {
			player.Push(audio.StreamKey(fmt.Sprint(id.Slot)), p.SequenceNumber, p.Timestamp, p.Payload, at)
		})})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{
		pub.Run, sub.Run, player.Run,
		func(ctx context.Context) error {
			return pipe.Run(ctx, func(fr audio.Frame) error {
				if fr.Level.PeakDBFS > -3 && pub.State() == uplink.StateConnected {
					// The click is the frame's first sample: a microphone
					// captured it one frame before the frame was complete.
					log.addIn(time.Now().Add(-f.FrameDuration()))
				}
				return pub.WriteOpus(fr.Payload, fr.Samples)
			})
		},
	} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = run(ctx) }()
	}
	time.Sleep(12 * time.Second)
	cancel()
	wg.Wait()

	log.mu.Lock()
	defer log.mu.Unlock()
	var lat []time.Duration
	for _, o := range log.out {
		// the latest click that went in before this one came out
		var best time.Time
		for _, in := range log.in {
			if in.Before(o) && o.Sub(in) < 400*time.Millisecond {
				best = in
			}
		}
		if !best.IsZero() {
			lat = append(lat, o.Sub(best))
		}
	}
	if len(lat) < 10 {
		b.Fatalf("only %d clicks went through (%d in, %d out)", len(lat), len(log.in), len(log.out))
	}
	lat = lat[2:] // the jitter buffer settles on the first ones
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	med, worst := lat[len(lat)/2], lat[len(lat)-1]
	floor := f.FrameDuration() + 6500*time.Microsecond + d.Audio.JitterDelay
	fmt.Printf("\nclick latency host input → audience output on loopback (%d clicks, 20 ms frames, %s jitter buffer):\n",
		len(lat), d.Audio.JitterDelay)
	fmt.Printf("  median %s, worst %s; floor (frame + Opus look-ahead + buffer) %s; goal ≤ 120 ms\n\n",
		med.Round(time.Millisecond/10), worst.Round(time.Millisecond/10), floor)
	b.ReportMetric(float64(med.Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}

// sinkFunc adapts a function to uplink.Sink.
type sinkFunc func(uplink.StreamID, *rtp.Packet, time.Time)

func (f sinkFunc) Packet(id uplink.StreamID, p *rtp.Packet, at time.Time) { f(id, p, at) }

// BenchmarkRoleSwitch switches a board host → audience → host 20 times in
// a channel where another host plays, and reports the media gap of each
// direction: last packet sent → first sample played, and back.
func BenchmarkRoleSwitch(b *testing.B) {
	base := serveRelay(b)
	cfg := func(input, uid string) session.Config {
		c := benchSession(base, input)
		c.Channel, c.UID, c.Role = "sw", uid, channel.RoleHost
		return c
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	start := func(s *session.Session) {
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(ctx) }()
	}
	other, err := session.New(cfg("tone:660", "other"))
	if err != nil {
		b.Fatal(err)
	}
	start(other)
	board, err := session.New(cfg("default", "board"))
	if err != nil {
		b.Fatal(err)
	}
	start(board)
	time.Sleep(2 * time.Second)

	var toAudience, toHost []time.Duration
	for i := 0; i < 20; i++ {
		to := channel.RoleAudience
		if i%2 == 1 {
			to = channel.RoleHost
		}
		sw, err := board.SetRole(ctx, to)
		if err != nil {
			b.Fatal(err)
		}
		if to == channel.RoleAudience {
			toAudience = append(toAudience, sw.MediaGap)
		} else {
			toHost = append(toHost, sw.MediaGap)
		}
	}
	cancel()
	wg.Wait()
	fmt.Printf("\nrole switch on loopback, media gap (last packet sent → first sample played, and back), 10 each:\n")
	for _, r := range []struct {
		name string
		d    []time.Duration
	}{{"host → audience", toAudience}, {"audience → host", toHost}} {
		sort.Slice(r.d, func(i, j int) bool { return r.d[i] < r.d[j] })
		fmt.Printf("  %-16s median %6s, worst %6s (goal ≤ 300 ms)\n", r.name,
			r.d[len(r.d)/2].Round(time.Millisecond), r.d[len(r.d)-1].Round(time.Millisecond))
		b.ReportMetric(float64(r.d[len(r.d)-1].Milliseconds()), "worst-ms-"+map[string]string{"host → audience": "to-audience", "audience → host": "to-host"}[r.name])
	}
	fmt.Println()
}

// relayPackets returns how many packets the relay received from the hosts
// of channel, 0 when it has none.
func relayPackets(base, channel string) int {
	res, err := http.Get(base + "/api/channels/" + channel)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	var info struct {
		Hosts []struct {
			Packets int `json:"packets"`
		} `json:"hosts"`
	}
	if json.NewDecoder(res.Body).Decode(&info) != nil {
		return 0
	}
	n := 0
	for _, h := range info.Hosts {
		n += h.Packets
	}
	return n
}
