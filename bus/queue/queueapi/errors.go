package queueapi

import "errors"

// Sentinel errors of the queue REST routes, beside the bus and queue ones. Compare with
// errors.Is.
var (
	// ErrBodyTooLarge means a request body is over Options.MaxBodyBytes.
	ErrBodyTooLarge = errors.New("body too large")
	// ErrInvalidJSON means a request body is not JSON.
	ErrInvalidJSON = errors.New("invalid json")
)
