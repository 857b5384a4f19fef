package relay

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/onair-dev/onair/internal/wheptest"
	"github.com/onair-dev/onair/uplink"
)

// The fan-out benchmark: one host → N WHEP audiences on loopback, N rising
// until 1 % of the packets are lost or the audiences cannot be set up.
const (
	childEnv      = "ONAIR_RELAY_BENCH_CHILD"
	profileEnv    = "ONAIR_RELAY_BENCH_CPUPROFILE" // a file for the relay process's CPU profile
	shardsEnv     = "ONAIR_RELAY_BENCH_SHARDS"     // fan-out shards per host, instead of one per core
	benchChannel  = "bench"
	benchWindow   = 5 * time.Second
	benchWarmup   = time.Second
	benchGrace    = 100 * time.Millisecond // past the deadline of the window's last packet
	benchBudget   = 4 * time.Minute        // no new step starts after this
	benchSetupPar = 8                      // audiences set up in parallel
	benchSetupMax = time.Minute            // a step whose audiences take longer to connect fails
	lossLimit     = 1.0                    // percent
	deadline      = 200 * time.Millisecond // a packet later than this after it was sent counts as lost
	clockTicks    = 100                    // USER_HZ of /proc/<pid>/stat on Linux
)

var benchSteps = []int{50, 100, 200, 400, 700, 1000, 1400, 2000}

// TestFanoutRelayChild is not a test: it is the relay process of
// BenchmarkFanout, run by the benchmark in a child process so that the
// relay's CPU time is measured apart from the audiences'. It serves until
// its standard input closes.
func TestFanoutRelayChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("the relay process of BenchmarkFanout")
	}
	r, err := New(Config{AllowAnonymous: true, MaxSessions: 5000, Network: loopback}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := strconv.Atoi(os.Getenv(shardsEnv)); n > 0 {
		r.shards = n
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	if path := os.Getenv(profileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if err := r.Serve(ctx, ln); err != nil {
		t.Fatal(err)
	}
}

// relayChild is the relay process.
type relayChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	base  string // http://127.0.0.1:port
}

func startRelayChild(b *testing.B) *relayChild {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFanoutRelayChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c := &relayChild{cmd: cmd, stdin: stdin}
	b.Cleanup(c.stop)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "LISTEN ")
	if err != nil || !ok {
		b.Fatalf("relay child: %q, %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	c.base = "http://" + addr
	return c
}

// stop ends the child (its stdin closes, it shuts down) and waits.
func (c *relayChild) stop() {
	_ = c.stdin.Close()
	done := make(chan struct{})
	go func() {
		_ = c.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// cpu returns the child's user+system CPU time.
func (c *relayChild) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// rssMB returns the child's resident memory in MiB.
func (c *relayChild) rssMB() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// selfCPU returns this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchHost is the benchmark's host: a pion peer that publishes a
// pre-encoded Opus stream by WHIP, numbering the packets itself and
// remembering when it sent each, so that the audiences can tell their
// delay. (The relay passes the first host of a slot through with its own
// numbering.)
type benchHost struct {
	pc     *webrtc.PeerConnection
	track  *webrtc.TrackLocalStaticRTP
	sentAt [1 << 16]atomic.Int64 // Unix nanoseconds, by sequence number
	seq    atomic.Uint32         // the last sequence number sent
}

func dialBenchHost(b *testing.B, base string) *benchHost {
	b.Helper()
	api, err := uplink.NewAPI(loopback)
	if err != nil {
		b.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		b.Fatal(err)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(hostCodec, "bench", "bench")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		b.Fatal(err)
	}
	signal(b, pc, http.DefaultClient, base+"/whip/"+benchChannel+"?uid=bench-host", "")
	waitConnected(b, pc)
	return &benchHost{pc: pc, track: track}
}

// run sends frames every 20 ms until ctx ends.
func (h *benchHost) run(ctx context.Context, frames [][]byte) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, Marker: true}}
	for i := 1; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		seq := uint16(i)
		pkt.SequenceNumber, pkt.Timestamp, pkt.Payload = seq, uint32(i)*960, frames[i%len(frames)]
		h.sentAt[seq].Store(time.Now().UnixNano())
		_ = h.track.WriteRTP(pkt)
		h.seq.Store(uint32(seq))
		pkt.Marker = false
	}
}

// delays is a histogram of packet delays, host to audience, in ms.
type delays [1001]atomic.Uint64 // the last bucket holds 1 s and more

func (d *delays) add(v time.Duration) { d[min(int(v/time.Millisecond), len(d)-1)].Add(1) }

// quantile returns the q-quantile (0..1) of the counts of d minus those
// of before, in ms.
func (d *delays) quantile(before []uint64, q float64) int {
	var total uint64
	diff := make([]uint64, len(d))
	for i := range d {
		diff[i] = d[i].Load() - before[i]
		total += diff[i]
	}
	var acc uint64
	for i, c := range diff {
		acc += c
		if total > 0 && float64(acc) >= q*float64(total) {
			return i
		}
	}
	return len(d) - 1
}

func (d *delays) snapshot() []uint64 {
	out := make([]uint64, len(d))
	for i := range d {
		out[i] = d[i].Load()
	}
	return out
}

// receiver is one benchmark audience: a bare pion peer (no interceptors)
// that marks the sequence numbers it receives in time.
type receiver struct {
	c     *wheptest.Client
	host  *benchHost
	delay *delays
	seen  [1024]atomic.Uint64 // one bit per RTP sequence number received within deadline
}

func (r *receiver) onPacket(_ int, p *rtp.Packet) {
	d := time.Duration(time.Now().UnixNano() - r.host.sentAt[p.SequenceNumber].Load())
	r.delay.add(d)
	if d <= deadline {
		r.seen[p.SequenceNumber/64].Or(1 << (p.SequenceNumber % 64))
	}
}

// count returns how many of the sequence numbers after from, up to and
// including to, were received in time.
func (r *receiver) count(from, to uint16) int {
	n := 0
	for s := from + 1; s != to+1; s++ {
		if r.seen[s/64].Load()&(1<<(s%64)) != 0 {
			n++
		}
	}
	return n
}

// bareAPI is a pion API for the audiences: Opus, loopback, no
// interceptors, so that they cost as little CPU as a receiver can.
func bareAPI(b *testing.B) *webrtc.API {
	b.Helper()
	var se webrtc.SettingEngine
	se.SetInterfaceFilter(func(n string) bool { return n == "lo" })
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: hostCodec, PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		b.Fatal(err)
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me))
}

// benchRow is one step of the benchmark.
type benchRow struct {
	n          int
	sent       int           // packets the host sent in the window
	p50, p99   int           // delay host → audience, ms
	max        int           // ms
	schedP99   time.Duration // goroutine scheduling latency of the benchmark process
	setup      time.Duration
	loss       float64 // percent
	relayCPU   float64 // percent of one core, whole relay process
	clientsCPU float64 // percent of one core, this process (host + audiences)
	otherCPU   float64 // percent of one core, every other process of the machine
	stealCPU   float64 // percent of one core taken by the hypervisor
	rss        float64 // MiB, relay process
}

// BenchmarkFanout measures the relay's fan-out: one host publishing a
// pre-encoded 20 ms Opus stream in real time → N WHEP audiences on
// loopback, for N in benchSteps, each measured over benchWindow. It prints
// the loss and the relay's CPU per audience, and the largest N with less
// than 1 % loss. It runs once whatever b.N is; run it with -benchtime 1x.
func BenchmarkFanout(b *testing.B) {
	child := startRelayChild(b)
	host := dialBenchHost(b, child.base)
	defer host.pc.Close()
	frames := encodeTone(b, 440, 50)
	ctx, cancel := context.WithCancel(context.Background())
	var hostWG sync.WaitGroup
	hostWG.Add(1)
	go func() {
		defer hostWG.Done()
		host.run(ctx, frames)
	}()
	defer func() {
		cancel()
		hostWG.Wait()
	}()
	var hist delays

	api := bareAPI(b)
	tr := &http.Transport{MaxIdleConnsPerHost: benchSetupPar}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	var recv []*receiver
	defer func() {
		var wg sync.WaitGroup
		for _, r := range recv {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.c.Close()
			}()
		}
		wg.Wait()
	}()

	start := time.Now()
	var rows []benchRow
	var stopWhy string
	for _, n := range benchSteps {
		if time.Since(start) > benchBudget {
			stopWhy = "time budget spent"
			break
		}
		t0 := time.Now()
		sctx, scancel := context.WithTimeout(ctx, benchSetupMax)
		added, err := addReceivers(sctx, api, hc, child.base, n-len(recv), host, &hist)
		scancel()
		recv = append(recv, added...)
		if err != nil {
			stopWhy = fmt.Sprintf("setup of %d audiences failed: %v", n, err)
			break
		}
		row := benchRow{n: n, setup: time.Since(t0)}
		time.Sleep(benchWarmup)
		s0, h0, m0 := uint16(host.seq.Load()), hist.snapshot(), readSched()
		rc0, err := child.cpu()
		if err != nil {
			b.Fatal(err)
		}
		sc0, w0, mc0, st0 := selfCPU(), time.Now(), machineCPU(7), machineCPU(0, 1, 2, 5, 6)
		time.Sleep(benchWindow)
		s1 := uint16(host.seq.Load())
		rc1, _ := child.cpu()
		sc1, wall, mc1, st1 := selfCPU(), time.Since(w0), machineCPU(7), machineCPU(0, 1, 2, 5, 6)
		row.stealCPU = 100 * (mc1 - mc0).Seconds() / wall.Seconds()
		row.otherCPU = 100 * ((st1 - st0) - (rc1 - rc0) - (sc1 - sc0)).Seconds() / wall.Seconds()
		row.schedP99 = schedP99(m0, readSched())
		time.Sleep(deadline + benchGrace)
		row.p50, row.p99, row.max = hist.quantile(h0, 0.5), hist.quantile(h0, 0.99), hist.quantile(h0, 1)
		sent := int(s1 - s0)
		got := 0
		for _, r := range recv {
			got += r.count(s0, s1)
		}
		if sent <= 0 {
			stopWhy = "the host's packets stopped"
			break
		}
		row.sent = sent
		row.loss = 100 * (1 - float64(got)/float64(sent*n))
		row.relayCPU = 100 * (rc1 - rc0).Seconds() / wall.Seconds()
		row.clientsCPU = 100 * (sc1 - sc0).Seconds() / wall.Seconds()
		row.rss = child.rssMB()
		rows = append(rows, row)
		if row.loss >= lossLimit {
			stopWhy = fmt.Sprintf("loss %.2f%% at N=%d", row.loss, n)
			break
		}
	}
	if stopWhy == "" {
		stopWhy = "every step passed"
	}
	report(b, rows, stopWhy)
}

// addReceivers sets up k more audiences, benchSetupPar at a time, and waits
// until they are connected.
func addReceivers(ctx context.Context, api *webrtc.API, hc *http.Client, base string, k int, host *benchHost, hist *delays) ([]*receiver, error) {
	out := make([]*receiver, k)
	errs := make([]error, k)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range min(k, benchSetupPar) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= k {
					return
				}
				r := &receiver{host: host, delay: hist}
				dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				c, err := wheptest.Dial(dctx, wheptest.Config{
					URL: base + "/whep/" + benchChannel, Tracks: 1, API: api,
					NoDecode: true, OnPacket: r.onPacket, HTTPClient: hc,
				})
				if err == nil {
					r.c = c
					out[i] = r
					err = c.WaitConnected(dctx)
				}
				cancel()
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	var ok []*receiver
	for _, r := range out {
		if r != nil {
			ok = append(ok, r)
		}
	}
	failed, first := 0, error(nil)
	for _, err := range errs {
		if err != nil {
			failed++
			first = cmp.Or(first, err)
		}
	}
	if failed > 0 {
		return ok, fmt.Errorf("%d of %d audiences not connected; first: %w", failed, k, first)
	}
	return ok, nil
}

// report prints the table and reports the metrics of the largest N with
// less than lossLimit loss.
func report(b *testing.B, rows []benchRow, why string) {
	var sb strings.Builder
	nominal := int(benchWindow / (20 * time.Millisecond))
	fmt.Fprintf(&sb, "\nrelay fan-out: 1 host -> N WHEP audiences, 20 ms Opus frames, loopback, %s per step\n", benchWindow)
	fmt.Fprintf(&sb, "%6s %6s %8s %7s %14s %7s %11s %12s %13s %11s %7s %10s %9s\n", "N", "sent", "setup", "loss%",
		"delay p50/p99", "max ms", "relay CPU%", "relay %/aud", "clients CPU%", "other CPU%", "steal%", "sched p99", "relay MB")
	best := -1
	for i, r := range rows {
		fmt.Fprintf(&sb, "%6d %6d %8s %7.2f %14s %7d %11.1f %12.3f %13.1f %11.1f %7.1f %10s %9.0f\n", r.n, r.sent,
			r.setup.Round(10*time.Millisecond), r.loss, fmt.Sprintf("%d/%d ms", r.p50, r.p99), r.max,
			r.relayCPU, r.relayCPU/float64(r.n), r.clientsCPU, r.otherCPU, r.stealCPU, r.schedP99.Round(100*time.Microsecond), r.rss)
		if r.loss < lossLimit {
			best = i
		}
	}
	fmt.Fprintf(&sb, "stopped: %s\n\n", why)
	fmt.Fprintf(&sb, "sent: packets the host sent in the window (%d nominal; fewer means the benchmark process\n"+
		"  starved its own host). loss: packets of the window an audience did not get within %s of\n"+
		"  their sending. delay: host -> audience, over every packet of the window.\n", nominal, deadline)
	fmt.Fprintf(&sb, "CPU%%: percent of one core over the window. The relay runs in its own process and its CPU\n"+
		"  is measured exactly (/proc/<pid>/stat). The host and the audiences (bare pion receivers without\n"+
		"  interceptors) run in the benchmark process (\"clients\") on the same %d cores: at high N the relay\n"+
		"  competes with them, and loss or delay may come from the receivers as much as from the relay.\n"+
		"  other: the rest of the machine's busy time, kernel softirq (loopback delivery) included;\n"+
		"  steal: time the hypervisor gave to other machines; sched p99: goroutine scheduling latency in\n"+
		"  the benchmark process. High values of any of them make the step's loss unreliable.\n", runtime.NumCPU())
	if best >= 0 {
		r := rows[best]
		fmt.Fprintf(&sb, "largest N with < %.0f%% loss: %d (relay %.1f%% CPU, %.3f%% of a core per audience)\n",
			lossLimit, r.n, r.relayCPU, r.relayCPU/float64(r.n))
		b.ReportMetric(float64(r.n), "audiences")
		b.ReportMetric(r.loss, "loss-%")
		b.ReportMetric(r.relayCPU/float64(r.n), "relay-cpu-%/audience")
		b.ReportMetric(float64(r.p99), "p99-delay-ms")
	} else {
		fmt.Fprintf(&sb, "no N kept the loss under %.0f%%\n", lossLimit)
		b.ReportMetric(0, "audiences")
	}
	fmt.Print(sb.String())
}

// readSched reads the benchmark process's histogram of goroutine
// scheduling latencies.
func readSched() *metrics.Float64Histogram {
	m := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	metrics.Read(m)
	return m[0].Value.Float64Histogram()
}

// schedP99 returns the 99th percentile of the latencies between two reads.
func schedP99(a, b *metrics.Float64Histogram) time.Duration {
	var total uint64
	for i := range b.Counts {
		total += b.Counts[i] - a.Counts[i]
	}
	var acc uint64
	for i := range b.Counts {
		acc += b.Counts[i] - a.Counts[i]
		if total > 0 && float64(acc) >= 0.99*float64(total) {
			return time.Duration(b.Buckets[i+1] * float64(time.Second))
		}
	}
	return 0
}

// machineCPU returns the time every CPU of the machine together spent in
// the given columns of /proc/stat's cpu line (0 user, 1 nice, 2 system,
// 3 idle, 4 iowait, 5 irq, 6 softirq, 7 steal).
func machineCPU(cols ...int) time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)[1:]
	var ticks int64
	for _, c := range cols {
		if c < len(f) {
			n, _ := strconv.ParseInt(f[c], 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks
}
