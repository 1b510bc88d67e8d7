package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/bus/cluster"
	"github.com/mahou-go/mahou/bus/server"
)

// envClusterKey carries the cluster key; prefer it to --cluster-key, which other users of the
// machine can read in the process list.
const envClusterKey = "SINGYEONG_CLUSTER_KEY"

// clusterEnvFlags are the cluster flags that also read SINGYEONG_<NAME> from the environment
// (--join is SINGYEONG_JOIN, comma-separated).
var clusterEnvFlags = []string{"node-id", "cluster-addr", "cluster-advertise-addr", "advertise-addr", "join",
	"balance-interval"}

// clusterHelp is the cluster part of serve's long help.
const clusterHelp = `
Cluster: --cluster-addr makes the node a member of a cluster (without it, a single node). Start
the first node without --join, then each other node with --join set to the cluster address of
any member; once the cluster exists, restart any node with --join listing the others. Every
node needs its own --data-dir and a unique --node-id (saved in the data directory; a restarted
node must keep it), and the same key on every node
(` + envClusterKey + `, or --cluster-key): base64 of 16, 24 or 32 random bytes, e.g.
  head -c 32 /dev/urandom | base64
It encrypts the gossip and authenticates (does not encrypt) the links and raft between nodes,
which use the API port: keep that traffic on a private network. The other nodes reach
this node's API at --advertise-addr (default --addr, which must then not be 0.0.0.0).
Example (3 nodes on one machine):
  singyeong serve --addr 127.0.0.1:4001 --data-dir d1 --node-id n1 --cluster-addr 127.0.0.1:7001
  singyeong serve --addr 127.0.0.1:4002 --data-dir d2 --node-id n2 --cluster-addr 127.0.0.1:7002 --join 127.0.0.1:7001
  singyeong serve --addr 127.0.0.1:4003 --data-dir d3 --node-id n3 --cluster-addr 127.0.0.1:7003 --join 127.0.0.1:7001
GET /api/v1/cluster shows the members, their health and the queue group.`

func clusterFlags(cmd *cobra.Command, c *cluster.Config, key *string) {
	f := cmd.Flags()
	f.StringVar(&c.NodeID, "node-id", "", "this node's id, unique in the cluster (default: the one saved in the data directory, or a new random one)")
	f.StringVar(&c.BindAddr, "cluster-addr", "", "host:port for cluster membership (TCP and UDP); empty runs a single node (e.g. "+cluster.DefaultBindAddr+")")
	f.StringVar(&c.AdvertiseAddr, "cluster-advertise-addr", "", "host:port the other members reach --cluster-addr at (default --cluster-addr)")
	f.StringVar(&c.APIAddr, "advertise-addr", "", "host:port the other nodes reach this node's API at (default --addr)")
	f.StringSliceVar(&c.Join, "join", nil, "cluster addresses (host:port, comma-separated) of members to join; any one that answers is enough")
	f.StringVar(key, "cluster-key", "", "cluster key, base64 of 16, 24 or 32 bytes (env "+envClusterKey+"; prefer the env)")
	f.DurationVar(&c.BalanceInterval, "balance-interval", cluster.DefaultBalanceInterval,
		"how often a node above its share of the cluster's clients sends the excess op 7 goodbye; 0 disables")
}

// applyClusterEnv completes the cluster part of cfg: the environment for the flags not given,
// the key decoded, and the rules that span flags.
func applyClusterEnv(cmd *cobra.Command, cfg *server.Config, key string) error {
	changed := cmd.Flags().Changed
	var errs []error
	for _, name := range clusterEnvFlags {
		if v, ok := os.LookupEnv(envName(name)); ok && !changed(name) {
			if err := cmd.Flags().Set(name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", envName(name), v, err))
			}
		}
	}
	if v := os.Getenv(envClusterKey); !changed("cluster-key") && v != "" {
		key = v
	}
	if key != "" {
		k, err := cluster.ParseKey(key)
		if err != nil {
			errs = append(errs, fmt.Errorf("--cluster-key: %w", err))
		}
		cfg.Cluster.Key = k
	}
	if !cfg.Clustered() && (len(cfg.Cluster.Join) > 0 || key != "") {
		errs = append(errs, fmt.Errorf("%w: --join and --cluster-key need --cluster-addr", cluster.ErrConfig))
	}
	return errors.Join(errs...)
}
