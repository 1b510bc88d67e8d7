package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// natsSubjects are the NATS analogues of the singyeong queries: every receiver is in queue
// group "bench" on bench.all (app-only); the receivers the 2-op query matches (region r3, load
// below 50) are also in group "bench" on bench.r3.low. NATS routes by subject, so the match set
// is fixed at subscription time; singyeong evaluates the query per message.
var natsSubjects = map[string]string{"app-only": "bench.all", "2-op": "bench.r3.low"}

// runNATS runs the same load against a NATS server: one connection per receiver and sender,
// queue-group subscriptions, the same payload size, window and latency histogram.
func runNATS(ctx context.Context, cfg config) error {
	rssServer0, rssSelf0 := rss(cfg.serverPID), rss(os.Getpid())
	st := &stats{window: make(chan struct{}, cfg.window)}
	st.hist.Store(new(histogram))
	handler := func(m *nats.Msg) {
		if len(m.Data) >= 8 {
			st.record(time.Duration(time.Now().UnixNano() - int64(binary.BigEndian.Uint64(m.Data))))
		}
	}
	var conns []*nats.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	conns, err := subscribeNATS(cfg, handler)
	if err != nil {
		return err
	}
	runtime.GC()
	rssServer1, rssSelf1 := rss(cfg.serverPID), rss(os.Getpid())
	fmt.Printf("NATS %s: %d receivers + %d senders, payload %d B, window %d\n", cfg.nats, cfg.clients, cfg.senders, cfg.payload, cfg.window)
	if cfg.serverPID > 0 {
		fmt.Printf("idle memory: server RSS +%.1f MiB = %.1f KiB per client\n",
			mib(rssServer1-rssServer0), kib(rssServer1-rssServer0)/float64(cfg.clients))
	}
	fmt.Printf("idle memory: load generator RSS +%.1f MiB = %.1f KiB per client (nats.go)\n",
		mib(rssSelf1-rssSelf0), kib(rssSelf1-rssSelf0)/float64(cfg.clients))
	var senders []*nats.Conn
	for i := range cfg.senders {
		c, err := nats.Connect(cfg.nats, nats.Name("s"+strconv.Itoa(i)))
		if err != nil {
			return fmt.Errorf("connect sender %d: %w", i, err)
		}
		conns = append(conns, c)
		senders = append(senders, c)
	}
	payload := make([]byte, cfg.payload)
	for _, name := range []string{"app-only", "2-op"} {
		subject := natsSubjects[name]
		send := func(_ context.Context, i int) error {
			msg := make([]byte, len(payload))
			binary.BigEndian.PutUint64(msg, uint64(time.Now().UnixNano()))
			return senders[i].Publish(subject, msg)
		}
		if err := measure(ctx, cfg, "nats "+name, len(senders), send, st); err != nil {
			return err
		}
	}
	return nil
}

// subscribeNATS connects one NATS connection per receiver and subscribes it to the queue
// groups of natsSubjects.
func subscribeNATS(cfg config, handler nats.MsgHandler) ([]*nats.Conn, error) {
	var conns []*nats.Conn
	for i := range cfg.clients {
		c, err := nats.Connect(cfg.nats, nats.Name("r"+strconv.Itoa(i)))
		if err != nil {
			return conns, fmt.Errorf("connect receiver %d: %w", i, err)
		}
		conns = append(conns, c)
		if _, err := c.QueueSubscribe(natsSubjects["app-only"], "bench", handler); err != nil {
			return conns, err
		}
		if i%8 == 3 && i%100 < 50 {
			if _, err := c.QueueSubscribe(natsSubjects["2-op"], "bench", handler); err != nil {
				return conns, err
			}
		}
		if err := c.Flush(); err != nil {
			return conns, err
		}
	}
	return conns, nil
}
