package proxy

import "errors"

// Sentinel errors of the proxy. Compare with errors.Is; statusOf maps them to answers.
var (
	// ErrInvalidJSON means the request body is not a JSON object.
	ErrInvalidJSON = errors.New("invalid json")
	// ErrBodyTooLarge means the request body is over Config.MaxBodyBytes.
	ErrBodyTooLarge = errors.New("body too large")
	// ErrInvalidRequest means a field of the request is malformed (a check the original did
	// not make).
	ErrInvalidRequest = errors.New("invalid proxy request")
	// ErrNoMatch means no client with an address matches the query.
	ErrNoMatch = errors.New("no matches")
	// ErrUnreachable means the target did not answer: refused, reset, unresolvable.
	ErrUnreachable = errors.New("target unreachable")
	// ErrTimeout means the target did not answer within Config.Timeout.
	ErrTimeout = errors.New("target timed out")
	// ErrResponseTooLarge means the target's answer is over Config.MaxResponseBytes.
	ErrResponseTooLarge = errors.New("response too large")
	// ErrConfig wraps every configuration error Config.Validate reports.
	ErrConfig = errors.New("invalid proxy config")
)
