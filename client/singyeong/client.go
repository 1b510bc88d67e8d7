package singyeong

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Options configure a Client.
type Options struct {
	// URL is the server: http://host:port, https://..., ws://host:port or wss://...
	URL string
	// AppID is the application this client belongs to (required).
	AppID string
	// ClientID identifies the client within its application; empty picks a random id.
	ClientID string
	// Auth is the server password; empty sends none.
	Auth string
	// Encoding is JSON (default) or Msgpack.
	Encoding Encoding
	// Namespace, IP and ReceiveClientUpdates are sent in identify when set.
	Namespace            string
	IP                   string
	ReceiveClientUpdates bool
	// Metadata is sent in identify, and again after every reconnect.
	Metadata Metadata
	// Reconnect re-dials with backoff when the connection drops, and identifies again with the
	// same client id and the latest metadata.
	Reconnect bool
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
	// Buffer is the capacity of the Frames channel; 0 means 256. When it is full the oldest
	// frames wait: the client stops reading, as a slow consumer would.
	Buffer int
}

// Metadata is what UpdateMetadata sends: key to typed value.
type Metadata map[string]Value

// Value is a typed metadata value: Type is string, integer, float, version, list, boolean or
// map.
type Value struct {
	Type  string
	Value any
}

func (m Metadata) wire() map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = map[string]any{"type": v.Type, "value": v.Value}
	}
	return out
}

// Frame is a frame received from the server.
type Frame struct {
	Op int
	T  string
	D  any
	TS int64
}

// Opcodes of the protocol.
const (
	OpHello        = 0
	OpIdentify     = 1
	OpReady        = 2
	OpInvalid      = 3
	OpDispatch     = 4
	OpHeartbeat    = 5
	OpHeartbeatAck = 6
	OpGoodbye      = 7
	OpError        = 8
)

// ServerError is an op 3 (Fatal false) or op 8 (Fatal true) error from the server.
type ServerError struct {
	Fatal     bool
	Message   string
	ExtraInfo any
}

func (e *ServerError) Error() string {
	if e.ExtraInfo != nil {
		return fmt.Sprintf("server: %s (%v)", e.Message, e.ExtraInfo)
	}
	return "server: " + e.Message
}

// Sentinel errors of the client.
var (
	// ErrClosed means the client was closed.
	ErrClosed = errors.New("singyeong: client closed")
	// ErrNotConnected means the connection is down (and being re-established if Reconnect).
	ErrNotConnected = errors.New("singyeong: not connected")
	// ErrProtocol means the server sent something the protocol does not allow.
	ErrProtocol = errors.New("singyeong: protocol error")

	errEmptyQueue = errors.New("a queue name is required")
)

// Client is a connected singyeong client. Its methods are safe for concurrent use.
type Client struct {
	opts   Options
	log    *slog.Logger
	frames chan Frame
	stop   chan struct{}
	done   chan struct{}

	// queueMu orders QUEUE frames with their waiters in confirms; taken before mu.
	queueMu sync.Mutex

	mu          sync.Mutex // guards ws, restricted, metadata, waiters, pingWaiters, confirms, closed; a leaf lock
	ws          *websocket.Conn
	restricted  bool
	metadata    Metadata
	waiters     map[string]chan Frame   // t → the caller waiting for a reply dispatch (QUERY_NODES)
	pingWaiters []chan struct{}         // closed at the next heartbeat ack
	confirms    map[string][]chan error // queue → the Queue calls waiting for their outcome, oldest first
	closed      bool
	closeOnce   sync.Once
}

// Dial connects, identifies and waits for ready. The client then reads in the background:
// Frames delivers every frame after ready except heartbeat acks and replies a method waits for.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	if opts.AppID == "" {
		return nil, errors.New("singyeong: dial: an application id is required")
	}
	if opts.ClientID == "" {
		opts.ClientID = randomID()
	}
	if opts.Encoding == "" {
		opts.Encoding = JSON
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 256
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		opts: opts, log: log, metadata: opts.Metadata,
		frames: make(chan Frame, opts.Buffer), stop: make(chan struct{}), done: make(chan struct{}),
		waiters: make(map[string]chan Frame), confirms: make(map[string][]chan error),
	}
	ws, interval, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	go c.run(ws, interval)
	return c, nil
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "go-" + hex.EncodeToString(b[:])
}

// WebsocketURL turns a server URL (http, https, ws or wss, with or without a path) into the
// gateway's websocket URL for an encoding.
func WebsocketURL(server string, enc Encoding) (string, error) {
	u, err := url.Parse(server)
	if err != nil {
		return "", fmt.Errorf("singyeong: parse server url: %w", err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("singyeong: server url %q: scheme must be http, https, ws or wss", server)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/gateway/websocket"
	u.RawQuery = url.Values{"encoding": {string(enc)}}.Encode()
	return u.String(), nil
}

// ClientID returns the client's id.
func (c *Client) ClientID() string { return c.opts.ClientID }

// Restricted reports whether the server put this client in restricted mode.
func (c *Client) Restricted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.restricted
}

// Frames returns the channel of received frames; it is closed when the client stops.
func (c *Client) Frames() <-chan Frame { return c.frames }

// Close closes the connection and stops the background goroutines; it waits for them.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		ws := c.ws
		c.mu.Unlock()
		close(c.stop)
		if ws != nil {
			ws.Close(websocket.StatusNormalClosure, "")
		}
	})
	<-c.done
	return nil
}

// connect dials, reads hello, identifies and reads ready.
func (c *Client) connect(ctx context.Context) (*websocket.Conn, time.Duration, error) {
	wsURL, err := WebsocketURL(c.opts.URL, c.opts.Encoding)
	if err != nil {
		return nil, 0, err
	}
	ws, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("singyeong: dial %s: %w", wsURL, err)
	}
	ws.SetReadLimit(-1)
	hello, err := c.read(ctx, ws)
	if err != nil || hello.Op != OpHello {
		ws.CloseNow()
		return nil, 0, fmt.Errorf("%w: want hello, got %v (%v)", ErrProtocol, hello, err)
	}
	interval := 45 * time.Second
	if d, ok := hello.D.(map[string]any); ok {
		if ms, ok := d["heartbeat_interval"].(int64); ok && ms > 0 {
			interval = time.Duration(ms) * time.Millisecond
		}
	}
	if err := c.write(ctx, ws, map[string]any{"op": OpIdentify, "d": c.identifyData()}); err != nil {
		ws.CloseNow()
		return nil, 0, err
	}
	ready, err := c.read(ctx, ws)
	if err != nil {
		ws.CloseNow()
		return nil, 0, err
	}
	if ready.Op != OpReady {
		ws.CloseNow()
		if se := asServerError(ready); se != nil {
			return nil, 0, se
		}
		return nil, 0, fmt.Errorf("%w: want ready, got op %d", ErrProtocol, ready.Op)
	}
	d, _ := ready.D.(map[string]any)
	c.mu.Lock()
	c.ws = ws
	c.restricted = d["restricted"] == true
	c.mu.Unlock()
	return ws, interval, nil
}

func (c *Client) identifyData() map[string]any {
	d := map[string]any{"client_id": c.opts.ClientID, "application_id": c.opts.AppID}
	if c.opts.Auth != "" {
		d["auth"] = c.opts.Auth
	}
	if c.opts.Namespace != "" {
		d["namespace"] = c.opts.Namespace
	}
	if c.opts.IP != "" {
		d["ip"] = c.opts.IP
	}
	if c.opts.ReceiveClientUpdates {
		d["receive_client_updates"] = true
	}
	c.mu.Lock()
	if len(c.metadata) > 0 {
		d["metadata"] = c.metadata.wire()
	}
	c.mu.Unlock()
	return d
}

func (c *Client) read(ctx context.Context, ws *websocket.Conn) (Frame, error) {
	_, b, err := ws.Read(ctx)
	if err != nil {
		return Frame{}, err
	}
	m, err := c.opts.Encoding.unmarshal(b)
	if err != nil {
		return Frame{}, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	op, _ := m["op"].(int64)
	t, _ := m["t"].(string)
	ts, _ := m["ts"].(int64)
	return Frame{Op: int(op), T: t, D: m["d"], TS: ts}, nil
}

func (c *Client) write(ctx context.Context, ws *websocket.Conn, frame map[string]any) error {
	b, err := c.opts.Encoding.marshal(frame)
	if err != nil {
		return fmt.Errorf("singyeong: encode frame: %w", err)
	}
	typ := websocket.MessageText
	if c.opts.Encoding == Msgpack {
		typ = websocket.MessageBinary
	}
	if err := ws.Write(ctx, typ, b); err != nil {
		return fmt.Errorf("singyeong: write: %w", err)
	}
	return nil
}

// asServerError returns the error an op 3 or op 8 frame carries, or nil.
func asServerError(f Frame) *ServerError {
	if f.Op != OpInvalid && f.Op != OpError {
		return nil
	}
	d, _ := f.D.(map[string]any)
	msg, _ := d["error"].(string)
	return &ServerError{Fatal: f.Op == OpError, Message: msg, ExtraInfo: d["extra_info"]}
}

// Err returns the server error f carries (op 3 or op 8), or nil.
func (f Frame) Err() error {
	if se := asServerError(f); se != nil {
		return se
	}
	return nil
}
