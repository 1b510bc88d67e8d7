package gateway

import "errors"

// Sentinel errors of the gateway. Compare with errors.Is.
var (
	// ErrConfig wraps every configuration error reported by Config.Validate.
	ErrConfig = errors.New("invalid config")
	// ErrServerState means Start was called twice or after Close.
	ErrServerState = errors.New("server already started or closed")
	// ErrBuiltinEvent means Handle was asked to replace a built-in dispatch event.
	ErrBuiltinEvent = errors.New("built-in dispatch event")

	errFrameTooLarge = errors.New("frame too large")
	errNoHijack      = errors.New("response writer cannot hijack")
	errEncode        = errors.New("encode response")
)
