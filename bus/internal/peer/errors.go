package peer

import "errors"

// Sentinel errors of peer connections. Compare with errors.Is.
var (
	// ErrAuth means the other end does not know the cluster key: its proof does not verify.
	ErrAuth = errors.New("peer authentication failed: do the nodes share the same cluster key?")
	// ErrProtocol means the other end does not speak the peer protocol, or no listener serves
	// the protocol asked for.
	ErrProtocol = errors.New("peer protocol error")
	// ErrClosed means the listener is closed.
	ErrClosed = errors.New("peer listener closed")
)
