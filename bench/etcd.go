package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// etcdQuotaBytes is etcd's backend quota for the benchmark: the largest etcd recommends, so
// that a long put run does not hit the 2 GiB default (the benchmark never compacts).
const etcdQuotaBytes = 8 << 30

// startEtcd starts an etcd cluster of n members on loopback with fresh data directories and
// etcd's default durability (fsync on commit).
func (e *env) startEtcd(ctx context.Context, etcdBin string, n int) (*cluster, error) {
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	var initial []string
	for i := range n {
		initial = append(initial, fmt.Sprintf("e%d=http://127.0.0.1:%d", i+1, ports[2*i+1]))
	}
	c := &cluster{system: "etcd"}
	for i := range n {
		nd, err := e.newNode("etcd", i)
		if err != nil {
			return nil, err
		}
		nd.addr = fmt.Sprintf("http://127.0.0.1:%d", ports[2*i])
		peer := fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1])
		nd.readyURL = nd.addr + "/health"
		nd.argv = []string{etcdBin,
			"--name", fmt.Sprintf("e%d", i+1), "--data-dir", nd.dataDir,
			"--listen-client-urls", nd.addr, "--advertise-client-urls", nd.addr,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "bench-" + strconv.Itoa(ports[0]),
			"--quota-backend-bytes", strconv.Itoa(etcdQuotaBytes),
			"--logger", "zap", "--log-level", "warn"}
		c.nodes = append(c.nodes, nd)
	}
	c.dial = func(i int) (client, error) { return newEtcdClient(c.nodes[i%len(c.nodes)].addr) }
	if err := e.startNodes(ctx, c.nodes); err != nil {
		return e.failCluster(c, n, err)
	}
	if err := probeWrites(ctx, c); err != nil {
		return e.failCluster(c, n, err)
	}
	return c, nil
}
