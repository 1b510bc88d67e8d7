package queue

import "errors"

// Sentinel errors of the queue engine. Compare with errors.Is. The domain errors
// (bus.ErrInvalidQueue, bus.ErrQueueNotFound, bus.ErrQueueFull, bus.ErrInvalidQuery) come
// from package bus.
var (
	// ErrClosed means the broker is not open: Open was not called, or Close was.
	ErrClosed = errors.New("queues closed")
	// ErrStore means the store failed to write; the broker refuses work until it is restarted,
	// because its memory may be ahead of the disk.
	ErrStore = errors.New("queue store failed")
	// ErrCorrupt means stored or encoded bytes do not decode.
	ErrCorrupt = errors.New("corrupt queue data")
	// ErrVersion means stored or encoded bytes have a format version this build does not read.
	ErrVersion = errors.New("unsupported queue format version")
	// ErrDuplicate means an Enqueue named an id the queue already holds.
	ErrDuplicate = errors.New("duplicate message id")
	// ErrUnsupported means the store cannot do what was asked (a backup).
	ErrUnsupported = errors.New("not supported by the queue store")
	// ErrConfig wraps every configuration error Config.Validate reports.
	ErrConfig = errors.New("invalid queue config")
	// ErrNotLeader means a replicated broker does not lead the queue group (yet, or any
	// more): the work belongs to the leader.
	ErrNotLeader = errors.New("not the queue leader")
	// ErrNoLeader means the queue group has no leader this node can reach (an election is
	// under way, or this node is cut off): nothing was done.
	ErrNoLeader = errors.New("no queue leader reachable")
)
