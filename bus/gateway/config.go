package gateway

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/mahou-go/mahou/bus"
)

// Defaults of Config.
const (
	DefaultAddr              = "127.0.0.1:4567"
	DefaultDataDir           = "./singyeong-data"
	DefaultHeartbeatInterval = 45 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxFrameBytes     = 1 << 20
	DefaultMaxConnections    = 10000
	DefaultOutboundFrames    = 1024
	DefaultWriteTimeout      = 10 * time.Second
	DefaultMaxDepth          = 128
	DefaultMaxBodyBytes      = 1 << 20
	DefaultAuthFailures      = 10
	DefaultAuthFailureWindow = time.Minute
	DefaultMetadataStrategy  = bus.StrategyMerge
)

// Config is the configuration of a singyeong server. Build it with DefaultConfig and change
// fields; NewServer validates it.
type Config struct {
	// Addr is the host:port to listen on; port 0 picks a free port (see Server.Addr).
	Addr string
	// DataDir is where the server keeps its files. The gateway itself stores nothing; the
	// directory is created at start so that durable queues can use it.
	DataDir string
	// Auth is the shared password (the original's AUTH). Empty means an open server: every
	// client that sends no auth is a normal client.
	Auth string
	// HeartbeatInterval is sent in hello; a client whose last heartbeat is older than 1.5
	// times this is closed with op 8 "heartbeat took too long" at its next frame.
	HeartbeatInterval time.Duration
	// IdleTimeout closes (code 1000, no op 8) a connection that sends no frame for this long.
	IdleTimeout time.Duration
	// MaxFrameBytes is the largest websocket message accepted; a larger one gets op 8 and a
	// close with code 1009.
	MaxFrameBytes int64
	// MaxConnections is the most websocket connections served at once; more get HTTP 503.
	MaxConnections int
	// OutboundFrames is the most frames queued for one connection; a connection that falls
	// this far behind is closed as a slow consumer (code 1008).
	OutboundFrames int
	// WriteTimeout bounds one websocket write; a client that does not read for this long is
	// closed as a slow consumer.
	WriteTimeout time.Duration
	// MaxDepth bounds the nesting of decoded frames and request bodies.
	MaxDepth int
	// MaxBodyBytes bounds REST request bodies; a larger one gets HTTP 413.
	MaxBodyBytes int64
	// AuthFailures is how many wrong passwords one IP may send per AuthFailureWindow, over the
	// websocket and HTTP together; further attempts are refused until the window passes.
	AuthFailures int
	// AuthFailureWindow is the window AuthFailures counts in.
	AuthFailureWindow time.Duration
	// MetadataStrategy says how UPDATE_METADATA combines with existing metadata: merge or
	// replace.
	MetadataStrategy bus.Strategy
	// OriginPatterns lists the browser origins allowed to open a websocket besides the
	// server's own host (path.Match patterns). Clients that send no Origin are always allowed.
	OriginPatterns []string
}

// DefaultConfig returns a Config with every field at its default.
func DefaultConfig() Config {
	return Config{
		Addr:              DefaultAddr,
		DataDir:           DefaultDataDir,
		HeartbeatInterval: DefaultHeartbeatInterval,
		IdleTimeout:       DefaultIdleTimeout,
		MaxFrameBytes:     DefaultMaxFrameBytes,
		MaxConnections:    DefaultMaxConnections,
		OutboundFrames:    DefaultOutboundFrames,
		WriteTimeout:      DefaultWriteTimeout,
		MaxDepth:          DefaultMaxDepth,
		MaxBodyBytes:      DefaultMaxBodyBytes,
		AuthFailures:      DefaultAuthFailures,
		AuthFailureWindow: DefaultAuthFailureWindow,
		MetadataStrategy:  DefaultMetadataStrategy,
	}
}

// Validate reports every broken rule of c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("addr %q: must be host:port (%v)", c.Addr, err)
	}
	if c.DataDir == "" {
		bad("data dir: must not be empty")
	}
	positive := []struct {
		name string
		v    int64
	}{
		{"heartbeat interval", int64(c.HeartbeatInterval)},
		{"idle timeout", int64(c.IdleTimeout)},
		{"max frame bytes", c.MaxFrameBytes},
		{"max connections", int64(c.MaxConnections)},
		{"outbound frames", int64(c.OutboundFrames)},
		{"write timeout", int64(c.WriteTimeout)},
		{"max depth", int64(c.MaxDepth)},
		{"max body bytes", c.MaxBodyBytes},
		{"auth failures", int64(c.AuthFailures)},
		{"auth failure window", int64(c.AuthFailureWindow)},
	}
	for _, p := range positive {
		if p.v <= 0 {
			bad("%s: must be positive, got %d", p.name, p.v)
		}
	}
	if c.MetadataStrategy != bus.StrategyMerge && c.MetadataStrategy != bus.StrategyReplace {
		bad("metadata strategy %q: must be %q or %q", c.MetadataStrategy, bus.StrategyMerge, bus.StrategyReplace)
	}
	return errors.Join(errs...)
}
