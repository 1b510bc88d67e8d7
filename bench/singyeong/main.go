package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	singyeong "github.com/mahou-go/mahou/client/singyeong"
)

type config struct {
	server    string
	senderURL string // the server the senders connect to; "" means server
	serverPID int
	clients   int
	senders   int
	duration  time.Duration
	payload   int
	window    int64
	encoding  string
	queries   string
	nats      string
	mode      string
	producers int
	consumers int
	pipeline  int
}

func main() {
	var cfg config
	flag.StringVar(&cfg.server, "server", "http://127.0.0.1:4567", "server URL")
	flag.StringVar(&cfg.senderURL, "sender-server", "", "send mode: the server the senders connect to, another node of the receivers' cluster (default --server)")
	flag.IntVar(&cfg.serverPID, "server-pid", 0, "server pid, to report its RSS per idle client (0: skip)")
	flag.IntVar(&cfg.clients, "clients", 1000, "receiving clients to connect")
	flag.IntVar(&cfg.senders, "senders", 8, "sending clients")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured time per query")
	flag.IntVar(&cfg.payload, "payload", 256, "payload size in bytes")
	flag.Int64Var(&cfg.window, "window", 512, "most messages in flight (sent, not yet received)")
	flag.StringVar(&cfg.encoding, "encoding", "json", "json or msgpack")
	flag.StringVar(&cfg.queries, "queries", "app-only,2-op", "comma-separated queries to run: app-only, 2-op")
	flag.StringVar(&cfg.nats, "nats", "", "measure a NATS server at this URL instead (queue groups; --server-pid is then NATS's pid)")
	flag.StringVar(&cfg.mode, "mode", "send", "send (routed SEND) or queue (durable queues: enqueue, then end to end)")
	flag.IntVar(&cfg.producers, "producers", 8, "queue mode: producing clients")
	flag.IntVar(&cfg.consumers, "consumers", 8, "queue mode: consuming clients")
	flag.IntVar(&cfg.pipeline, "pipeline", 8, "queue mode: QUEUE frames each producer has waiting for their QUEUE_CONFIRM")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	var err error
	switch {
	case cfg.nats != "":
		err = runNATS(ctx, cfg)
	case cfg.mode == "queue":
		err = runQueue(ctx, cfg)
	default:
		err = run(ctx, cfg)
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "singyeong-bench:", err)
		os.Exit(1)
	}
}

// queries are the targets measured. 2-op matches 1/16 of the receivers.
var queries = map[string]map[string]any{
	"app-only": {"application": "bench"},
	"2-op": {"application": "bench", "ops": []any{
		map[string]any{"path": "/region", "op": "$eq", "to": map[string]any{"value": "r3"}},
		map[string]any{"path": "/load", "op": "$lt", "to": map[string]any{"value": 50}},
	}},
}

// stats counts deliveries and keeps a latency histogram with 10 µs buckets up to 1 s.
type stats struct {
	received atomic.Int64
	hist     atomic.Pointer[histogram]
	// window holds one token per message in flight: a sender takes one before sending, the
	// receiver gives it back, so senders block instead of spinning when the window is full.
	window chan struct{}
}

const (
	bucketWidth = 10 * time.Microsecond
	buckets     = int(time.Second / bucketWidth)
)

type histogram [buckets]atomic.Int64

func (st *stats) record(d time.Duration) {
	i := min(int(d/bucketWidth), buckets-1)
	st.hist.Load()[i].Add(1)
	st.received.Add(1)
	select {
	case <-st.window:
	default:
	}
}

// percentiles returns the p50 and p99 of the current histogram (bucket upper bounds).
func (st *stats) percentiles() (time.Duration, time.Duration) {
	h := st.hist.Load()
	var total int64
	for i := range h {
		total += h[i].Load()
	}
	if total == 0 {
		return 0, 0
	}
	var p50, p99 time.Duration
	var seen int64
	for i := range h {
		seen += h[i].Load()
		if p50 == 0 && seen*100 >= total*50 {
			p50 = time.Duration(i+1) * bucketWidth
		}
		if seen*100 >= total*99 {
			p99 = time.Duration(i+1) * bucketWidth
			break
		}
	}
	return p50, p99
}

func run(ctx context.Context, cfg config) error {
	enc := singyeong.Encoding(cfg.encoding)
	rssServer0, rssSelf0 := rss(cfg.serverPID), rss(os.Getpid())
	st := &stats{window: make(chan struct{}, cfg.window)}
	st.hist.Store(new(histogram))
	recv, err := connectReceivers(ctx, cfg, enc, st)
	defer closeAll(recv)
	if err != nil {
		return err
	}
	runtime.GC()
	rssServer1, rssSelf1 := rss(cfg.serverPID), rss(os.Getpid())
	fmt.Printf("machine: %d cpus; clients: %d receivers + %d senders, encoding %s, payload %d B, window %d\n",
		runtime.NumCPU(), cfg.clients, cfg.senders, cfg.encoding, cfg.payload, cfg.window)
	if cfg.serverPID > 0 {
		fmt.Printf("idle memory: server RSS +%.1f MiB = %.1f KiB per client\n",
			mib(rssServer1-rssServer0), kib(rssServer1-rssServer0)/float64(cfg.clients))
	}
	fmt.Printf("idle memory: load generator RSS +%.1f MiB = %.1f KiB per client (Go client package)\n",
		mib(rssSelf1-rssSelf0), kib(rssSelf1-rssSelf0)/float64(cfg.clients))
	senders, err := connectSenders(ctx, cfg, enc)
	defer closeAll(senders)
	if err != nil {
		return err
	}
	if err := waitReceivers(ctx, cfg); err != nil {
		return err
	}
	pad := strings.Repeat("x", max(cfg.payload-40, 0))
	for _, name := range strings.Split(cfg.queries, ",") {
		q, ok := queries[name]
		if !ok {
			return fmt.Errorf("unknown query %q", name)
		}
		send := func(ctx context.Context, i int) error {
			return senders[i].Send(ctx, q, map[string]any{"t": time.Now().UnixNano(), "pad": pad}, nil)
		}
		if err := measure(ctx, cfg, name, len(senders), send, st); err != nil {
			return err
		}
	}
	return nil
}

func connectReceivers(ctx context.Context, cfg config, enc singyeong.Encoding, st *stats) ([]*singyeong.Client, error) {
	var out []*singyeong.Client
	for i := range cfg.clients {
		c, err := singyeong.Dial(ctx, singyeong.Options{URL: cfg.server, AppID: "bench", ClientID: "r" + strconv.Itoa(i),
			Encoding: enc, Buffer: 4096, Metadata: singyeong.Metadata{
				"region": {Type: "string", Value: "r" + strconv.Itoa(i%8)},
				"load":   {Type: "integer", Value: i % 100},
			}})
		if err != nil {
			return out, fmt.Errorf("connect receiver %d: %w", i, err)
		}
		out = append(out, c)
		go receive(c, st)
	}
	return out, nil
}

func receive(c *singyeong.Client, st *stats) {
	for f := range c.Frames() {
		d, _ := f.D.(map[string]any)
		p, _ := d["payload"].(map[string]any)
		if sent, ok := p["t"].(int64); ok {
			st.record(time.Duration(time.Now().UnixNano() - sent))
		}
	}
}

// senderServer is where the senders connect.
func (c config) senderServer() string {
	if c.senderURL != "" {
		return c.senderURL
	}
	return c.server
}

// waitReceivers waits until the senders' server routes to every receiver: at once on the
// receivers' own node, one cluster link hop later on another node.
func waitReceivers(ctx context.Context, cfg config) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		nodes, err := singyeong.Query(ctx, nil, cfg.senderServer(), "", map[string]any{"application": "bench"})
		if err == nil && len(nodes) == cfg.clients {
			if cfg.senderServer() != cfg.server {
				fmt.Printf("senders on %s, receivers on %s (another node of the cluster)\n", cfg.senderServer(), cfg.server)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the senders' server %s sees %d of %d receivers (error %v)", cfg.senderServer(), len(nodes), cfg.clients, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func connectSenders(ctx context.Context, cfg config, enc singyeong.Encoding) ([]*singyeong.Client, error) {
	var out []*singyeong.Client
	for i := range cfg.senders {
		c, err := singyeong.Dial(ctx, singyeong.Options{URL: cfg.senderServer(), AppID: "bench-sender", ClientID: "s" + strconv.Itoa(i), Encoding: enc})
		if err != nil {
			return out, fmt.Errorf("connect sender %d: %w", i, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func closeAll(cs []*singyeong.Client) {
	for _, c := range cs {
		c.Close()
	}
}

// sendFunc sends one message, stamped with the current time, from sender i.
type sendFunc func(ctx context.Context, i int) error

// measure sends as fast as the window allows for cfg.duration from senders goroutines and
// reports what arrived.
func measure(ctx context.Context, cfg config, name string, senders int, send sendFunc, st *stats) error {
	st.hist.Store(new(histogram))
	var sent atomic.Int64
	base := st.received.Load()
	start := time.Now()
	deadline := start.Add(cfg.duration)
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				select {
				case st.window <- struct{}{}:
				case <-time.After(time.Second):
					errs <- errors.New("no delivery for a second: messages lost or server stalled")
					return
				}
				sent.Add(1)
				if err := send(ctx, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	drain := time.Now().Add(5 * time.Second)
	for st.received.Load()-base < sent.Load() && time.Now().Before(drain) {
		time.Sleep(10 * time.Millisecond)
	}
	got := st.received.Load() - base
	p50, p99 := st.percentiles()
	fmt.Printf("%-8s SEND: sent %d, delivered %d in %.1fs = %.0f msgs/s; latency p50 %v p99 %v\n",
		name, sent.Load(), got, elapsed.Seconds(), float64(got)/elapsed.Seconds(), p50, p99)
	if got < sent.Load() {
		return errors.New("messages were lost")
	}
	return nil
}

// rss returns a process's resident set size in bytes from /proc, or 0.
func rss(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
func kib(b int64) float64 { return float64(b) / (1 << 10) }
