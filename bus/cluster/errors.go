package cluster

import "errors"

// Sentinel errors of the cluster. Compare with errors.Is.
var (
	// ErrConfig wraps every configuration error Config.Validate reports.
	ErrConfig = errors.New("invalid cluster config")
	// ErrCorrupt means a link frame does not decode.
	ErrCorrupt = errors.New("corrupt cluster frame")
	// ErrState means Open was called twice, after Close, or a registration came after Open.
	ErrState = errors.New("cluster already opened or closed")
	// ErrJoin means no member given to join answered.
	ErrJoin = errors.New("join cluster")
)
