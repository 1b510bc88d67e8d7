package queue

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of Config.
const (
	DefaultAckTimeout    = 30 * time.Second
	DefaultMaxDeliveries = 10
	DefaultMaxNackDelay  = time.Hour
	DefaultMaxBytes      = 256 << 20
	// MaxNameBytes bounds a queue name (the original turned names into atoms, at most 255).
	MaxNameBytes = 255
	// MaxIDBytes bounds a message id in ACK and NACK; ids the broker makes are 36 bytes.
	MaxIDBytes = 128
)

// Config configures a Broker. Build it with DefaultConfig and change fields.
type Config struct {
	// AckTimeout is how long a consumer has to ACK (or NACK) a delivered message; after it,
	// the message is delivered again (or dead-lettered, see MaxDeliveries).
	AckTimeout time.Duration
	// MaxDeliveries is how many times a message is delivered at most: when the last delivery
	// times out, is NACKed, or its consumer leaves, the message goes to the queue's dead-letter
	// list instead of back to the queue.
	MaxDeliveries int
	// MaxNackDelay bounds the delay a QUEUE_NACK may ask for.
	MaxNackDelay time.Duration
	// MaxBytes bounds the stored size of every message of every queue (ready, in flight and
	// dead, all held in memory and on disk); an enqueue beyond it is refused with
	// bus.ErrQueueFull.
	MaxBytes int64
}

// DefaultConfig returns a Config with every field at its default.
func DefaultConfig() Config {
	return Config{AckTimeout: DefaultAckTimeout, MaxDeliveries: DefaultMaxDeliveries,
		MaxNackDelay: DefaultMaxNackDelay, MaxBytes: DefaultMaxBytes}
}

// Validate reports every broken rule of c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if c.AckTimeout < time.Millisecond {
		bad("ack timeout: must be at least 1ms, got %v", c.AckTimeout)
	}
	if c.MaxDeliveries < 1 || c.MaxDeliveries > 1<<31-1 {
		bad("max deliveries: must be between 1 and 2147483647, got %d", c.MaxDeliveries)
	}
	if c.MaxNackDelay < 0 {
		bad("max nack delay: must not be negative, got %v", c.MaxNackDelay)
	}
	if c.MaxBytes <= 0 {
		bad("max bytes: must be positive, got %d", c.MaxBytes)
	}
	return errors.Join(errs...)
}
