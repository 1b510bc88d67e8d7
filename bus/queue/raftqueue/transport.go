package raftqueue

import (
	"context"
	"net"
	"time"

	"github.com/hashicorp/raft"

	"github.com/mahou-go/mahou/bus/internal/peer"
)

// raftProto names raft's peer protocol; its version is in the name.
const raftProto = "raft.v1"

// streamLayer is raft's stream layer over peer connections: raft's connections arrive through
// the API listener's peer hub, and go out as peer upgrades to the other node's API address.
type streamLayer struct {
	ln   *peer.Listener
	key  []byte
	self peer.Identity
}

var _ raft.StreamLayer = (*streamLayer)(nil)

func (s *streamLayer) Accept() (net.Conn, error) { return s.ln.Accept() }
func (s *streamLayer) Close() error              { return s.ln.Close() }
func (s *streamLayer) Addr() net.Addr            { return s.ln.Addr() }

// Dial implements raft.StreamLayer.
func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return peer.Dial(ctx, string(address), raftProto, s.key, s.self)
}
