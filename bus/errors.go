package bus

import "errors"

// Sentinel errors of the bus domain. Compare with errors.Is.
var (
	// ErrInvalidQuery means a target query does not fit the query grammar.
	ErrInvalidQuery = errors.New("invalid query")
	// ErrInvalidMetadata means a metadata update failed validation; nothing was applied.
	ErrInvalidMetadata = errors.New("invalid metadata")
	// ErrAlreadyRegistered means a client with the same application and client id is connected.
	ErrAlreadyRegistered = errors.New("already registered")
	// ErrUnknownClient means no connected client has the given application and client id.
	ErrUnknownClient = errors.New("unknown client")
	// ErrInvalidQueue means a queue name or a queue request is malformed.
	ErrInvalidQueue = errors.New("invalid queue request")
	// ErrQueueNotFound means no queue has the given name.
	ErrQueueNotFound = errors.New("queue not found")
	// ErrQueueFull means the queues hold as many bytes as they may; nothing was enqueued.
	ErrQueueFull = errors.New("queue full")
)
