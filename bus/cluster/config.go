package cluster

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"time"
)

// Defaults of Config.
const (
	DefaultBindAddr        = "127.0.0.1:7946"
	DefaultBalanceInterval = time.Second
	DefaultLinkBuffer      = 64 << 20
)

// Config configures a Cluster. Build it with DefaultConfig and change fields.
type Config struct {
	// NodeID names this node in the cluster (its memberlist name and its raft server id). It
	// must be unique and stay the same across restarts of the node.
	NodeID string
	// BindAddr is the host:port memberlist listens on, TCP and UDP (--cluster-addr). Port 0
	// picks a free port (see Cluster.ClusterAddr).
	BindAddr string
	// AdvertiseAddr is the host:port the other members reach memberlist at; empty means
	// BindAddr, or, when its host is unspecified (0.0.0.0), a private address memberlist picks.
	AdvertiseAddr string
	// APIAddr is this node's API host:port as the other nodes reach it: the links, raft and
	// forwarded requests use it. Empty means the gateway's listen address, which must then not be
	// unspecified.
	APIAddr string
	// Join lists the cluster addresses (host:port) of members to join; any one that answers
	// is enough. Empty starts a new cluster.
	Join []string
	// Key is the cluster key, 16, 24 or 32 bytes: memberlist encrypts its gossip with it
	// (AES-GCM), and the links, raft and internal requests authenticate with it. Empty: no
	// encryption and no authentication (a network only the nodes reach).
	Key []byte
	// BalanceInterval is how often a node with more than its share of the cluster's clients
	// says goodbye (op 7) to the excess, as the original does; 0 disables load balancing.
	BalanceInterval time.Duration
	// LinkBuffer bounds the bytes waiting to be written to one peer; a peer that falls this
	// far behind has its link cut (and resynced when it reconnects).
	LinkBuffer int
	// ProbeInterval, SuspicionMult and GossipInterval tune memberlist's failure detection;
	// zero keeps memberlist's LAN defaults (1 s, 4, 200 ms).
	ProbeInterval  time.Duration
	SuspicionMult  int
	GossipInterval time.Duration
}

// DefaultConfig returns a Config with every field at its default; NodeID is left empty.
func DefaultConfig() Config {
	return Config{BindAddr: DefaultBindAddr, BalanceInterval: DefaultBalanceInterval, LinkBuffer: DefaultLinkBuffer}
}

// Validate reports every broken rule of c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if c.NodeID == "" || len(c.NodeID) > 128 {
		bad("node id: must be 1 to 128 bytes, got %q", c.NodeID)
	}
	for name, addr := range map[string]string{"cluster addr": c.BindAddr, "cluster advertise addr": c.AdvertiseAddr, "api addr": c.APIAddr} {
		if addr == "" && name != "cluster addr" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad("%s %q: must be host:port", name, addr)
		}
	}
	for _, j := range c.Join {
		if _, _, err := net.SplitHostPort(j); err != nil {
			bad("join %q: must be host:port (a member's cluster address)", j)
		}
	}
	if n := len(c.Key); n != 0 && n != 16 && n != 24 && n != 32 {
		bad("key: must be 16, 24 or 32 bytes, got %d", n)
	}
	if c.BalanceInterval < 0 {
		bad("balance interval: must not be negative, got %v", c.BalanceInterval)
	}
	if c.LinkBuffer <= 0 {
		bad("link buffer: must be positive, got %d", c.LinkBuffer)
	}
	if c.ProbeInterval < 0 || c.SuspicionMult < 0 || c.GossipInterval < 0 {
		bad("probe interval, suspicion mult, gossip interval: must not be negative")
	}
	return errors.Join(errs...)
}

// ParseKey decodes a base64 cluster key (standard or URL alphabet, padded or not) and checks
// its size.
func ParseKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil {
			if n := len(key); n != 16 && n != 24 && n != 32 {
				return nil, fmt.Errorf("%w: key: must decode to 16, 24 or 32 bytes, got %d", ErrConfig, n)
			}
			return key, nil
		}
	}
	return nil, fmt.Errorf("%w: key: not base64 (make one with: head -c 32 /dev/urandom | base64)", ErrConfig)
}
