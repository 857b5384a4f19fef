package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/onair-dev/onair/broker"
	"github.com/onair-dev/onair/control"
	"github.com/onair-dev/onair/device"
	"github.com/onair-dev/onair/session"
)

var quiet = slog.New(slog.DiscardHandler)

// agentPublisher adapts a control client to the agent.
type agentPublisher struct{ *control.Client }

func (p agentPublisher) DefaultReplyTopic() string { return p.Topics().Reply }

// startAgent runs one device agent with its MQTT client on brokerURL until
// ctx ends; wg tracks it.
func startAgent(ctx context.Context, b *testing.B, wg *sync.WaitGroup, brokerURL, id string, sess session.Config) {
	client, err := control.New(control.Config{Broker: brokerURL, DeviceID: id, Log: quiet})
	if err != nil {
		b.Fatal(err)
	}
	agent, err := device.NewAgent(device.AgentConfig{DeviceID: id, Session: sess, Publisher: agentPublisher{client},
		TelemetryInterval: -1, Log: quiet})
	if err != nil {
		b.Fatal(err)
	}
	wg.Add(2)
	go func() { defer wg.Done(); _ = client.Run(ctx, agent) }()
	go func() { defer wg.Done(); _ = agent.Run(ctx) }()
}

// operator is a dashboard's MQTT connection that counts replies.
type operator struct {
	c       mqtt.Client
	mu      sync.Mutex
	replies map[string][]time.Time // by command id
}

func newOperator(b *testing.B, brokerURL string) *operator {
	o := &operator{replies: map[string][]time.Time{}}
	opts := mqtt.NewClientOptions().AddBroker(brokerURL).SetClientID("dashboard").SetProtocolVersion(4)
	o.c = mqtt.NewClient(opts)
	if tok := o.c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	tok := o.c.Subscribe("onair/+/reply", 1, func(_ mqtt.Client, m mqtt.Message) {
		var r struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(m.Payload(), &r) == nil {
			o.mu.Lock()
			o.replies[r.ID] = append(o.replies[r.ID], time.Now())
			o.mu.Unlock()
		}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	return o
}

func (o *operator) send(b *testing.B, topic, cmd string) time.Time {
	at := time.Now()
	if tok := o.c.Publish(topic, 1, false, cmd); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	return at
}

// waitReplies waits until id has n replies and returns them.
func (o *operator) waitReplies(b *testing.B, id string, n int, timeout time.Duration) []time.Time {
	deadline := time.Now().Add(timeout)
	for {
		o.mu.Lock()
		got := append([]time.Time(nil), o.replies[id]...)
		o.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			b.Fatalf("command %s: %d of %d replies within %s", id, len(got), n, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func newBroker(b *testing.B, ctx context.Context) string {
	br, err := broker.New(broker.Config{Listen: "127.0.0.1:0", Log: quiet})
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = br.Run(ctx) }()
	return "tcp://" + strings.Replace(br.Addr(), "[::]", "127.0.0.1", 1)
}

// BenchmarkCommandReply measures, on loopback with the embedded broker, the
// time from a dashboard publishing a command to its reply (status, 100
// times), and from a join to the relay receiving the board's first RTP
// packet.
func BenchmarkCommandReply(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	url := newBroker(b, ctx)
	relayURL := serveRelay(b)
	startAgent(ctx, b, &wg, url, "bench", benchSession(relayURL, "tone:440"))
	op := newOperator(b, url)
	time.Sleep(500 * time.Millisecond)

	var lat []time.Duration
	for i := 0; i < 100; i++ {
		id := fmt.Sprintf("s%d", i)
		at := op.send(b, "onair/bench/cmd", `{"id":"`+id+`","action":"status"}`)
		lat = append(lat, op.waitReplies(b, id, 1, 5*time.Second)[0].Sub(at))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })

	at := op.send(b, "onair/bench/cmd", `{"id":"j","action":"join","channel":"first"}`)
	var firstRTP time.Duration
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if n := relayPackets(relayURL, "first"); n > 0 {
			firstRTP = time.Since(at)
			break
		}
	}
	fmt.Printf("\ncontrol on loopback (embedded broker):\n")
	fmt.Printf("  command → reply   median %s, p95 %s (goal ≤ 50 ms)\n", lat[len(lat)/2].Round(10*time.Microsecond), lat[len(lat)*95/100].Round(10*time.Microsecond))
	fmt.Printf("  join → first RTP packet at the relay   %s (goal ≤ 300 ms; polled every 1 ms)\n\n", firstRTP.Round(time.Millisecond))
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "reply-median-ms")
	b.ReportMetric(float64(firstRTP.Milliseconds()), "join-to-rtp-ms")
}

// BenchmarkFleetAllCmd runs 1,000 device agents in one process, each with
// its own MQTT session to the embedded broker, and measures the time from
// one all/cmd (status) to the last of the 1,000 replies. The agents are
// idle (no channel joined): the figure is the control path's.
func BenchmarkFleetAllCmd(b *testing.B) {
	const fleet = 1000
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	url := newBroker(b, ctx)
	sess := benchSession("", "default")
	for i := 0; i < fleet; i++ {
		startAgent(ctx, b, &wg, url, fmt.Sprintf("board-%04d", i), sess)
	}
	op := newOperator(b, url)
	// wait until every agent answers its own command, so all are subscribed
	for i := 0; i < fleet; i++ {
		id := fmt.Sprintf("hello-%d", i)
		op.send(b, fmt.Sprintf("onair/board-%04d/cmd", i), `{"id":"`+id+`","action":"status"}`)
	}
	for i := 0; i < fleet; i++ {
		op.waitReplies(b, fmt.Sprintf("hello-%d", i), 1, 60*time.Second)
	}
	at := op.send(b, "onair/all/cmd", `{"id":"all-1","action":"status"}`)
	got := op.waitReplies(b, "all-1", fleet, 60*time.Second)
	sort.Slice(got, func(i, j int) bool { return got[i].Before(got[j]) })
	last := got[fleet-1].Sub(at)
	fmt.Printf("\nfleet: %d agents in one process, one all/cmd (status): all %d replies in %s (first %s; goal ≤ 2 s)\n\n",
		fleet, fleet, last.Round(time.Millisecond), got[0].Sub(at).Round(time.Millisecond))
	b.ReportMetric(float64(last.Milliseconds()), "all-replies-ms")
}
