package cluster

import (
	"math"
	"slices"
	"time"

	"github.com/mahou-go/mahou/bus"
)

// goodbyeReason is the reason of the op 7 a node sends to balance its clients, the original's.
const goodbyeReason = "load balancing"

// goodbyeGrace is how long a client told goodbye is left out of the count, and not told again,
// while its connection closes.
const goodbyeGrace = 5 * time.Second

// balanceLoop announces this node's client count in its memberlist metadata and, unless
// Config.BalanceInterval is 0, balances the clients every interval.
func (c *Cluster) balanceLoop() {
	defer c.wg.Done()
	interval := c.cfg.BalanceInterval
	if interval == 0 {
		interval = DefaultBalanceInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	told := map[bus.ClientKey]time.Time{}
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		local := c.gw.LocalClients()
		c.updateMeta(len(local))
		if c.cfg.BalanceInterval > 0 {
			c.balance(local, told)
		}
	}
}

// balance says goodbye to the clients this node has beyond its share, newest first, as the
// original does every second: with avg = round(total / nodes), a node keeps at most
// avg + nodes - 1 clients (the slack keeps nodes from passing clients back and forth). Only
// members whose clients this node knows count.
func (c *Cluster) balance(local []*bus.Client, told map[bus.ClientKey]time.Time) {
	now := time.Now()
	for k, at := range told {
		if now.Sub(at) > goodbyeGrace {
			delete(told, k)
		}
	}
	local = slices.DeleteFunc(local, func(cl *bus.Client) bool { _, ok := told[cl.Key]; return ok })
	nodes, remote := c.balanceView()
	n := Excess(len(local), len(local)+remote, nodes)
	if n == 0 {
		return
	}
	since := make(map[bus.ClientKey]int64, len(local))
	for _, cl := range local {
		since[cl.Key] = c.sinceOf(cl.Key)
	}
	slices.SortFunc(local, func(a, b *bus.Client) int { return int(since[b.Key] - since[a.Key]) })
	c.log.Info("above this node's share of clients: saying goodbye", "clients", len(local), "nodes", nodes,
		"cluster_clients", len(local)+remote, "goodbyes", n)
	for _, cl := range local[:n] {
		if c.gw.Goodbye(cl.Key, goodbyeReason) {
			told[cl.Key] = now
			c.metrics.goodbyes.Inc()
		}
	}
}

// Excess is how many of its local clients a node says goodbye to when the cluster of nodes
// nodes has total clients: the original's rule, local - (round(total/nodes) + nodes - 1).
func Excess(local, total, nodes int) int {
	if nodes < 2 {
		return 0
	}
	avg := int(math.Round(float64(total) / float64(nodes)))
	return max(local-(avg+nodes-1), 0)
}

// balanceView counts the nodes whose clients this node knows (itself included) and their
// clients.
func (c *Cluster) balanceView() (nodes, remote int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	nodes = 1
	for _, m := range c.members {
		if m.state == stateAlive && m.synced {
			nodes++
			remote += m.registered()
		}
	}
	return nodes, remote
}

// registered counts m's clients that are registered. Cluster.mu must be held.
func (m *member) registered() int {
	n := 0
	for _, rc := range m.clients {
		if rc.registered {
			n++
		}
	}
	return n
}
