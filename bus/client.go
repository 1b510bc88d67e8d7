package bus

import "sync"

// ClientKey names one client: the application it belongs to and its id, unique within the
// application across the bus.
type ClientKey struct {
	App string
	ID  string
}

// Client is what the bus knows about one identified client. A published Client is immutable:
// an update builds a new Client (see With) and swaps it in, so routing reads a consistent
// snapshot without locks on the client itself.
type Client struct {
	Key ClientKey
	// Metadata holds the client's values, reserved keys included.
	Metadata map[string]any
	// Types holds the declared type of every key in Metadata.
	Types map[string]Type
	// SocketIP is the peer address of the client's connection.
	SocketIP string
	// Restricted is true when the client identified without the server password.
	Restricted bool
	// Queues lists the queue names the client has requested from, without duplicates.
	Queues []string
}

// With returns a copy of c whose metadata is meta and whose types are types; c is unchanged.
func (c *Client) With(meta map[string]any, types map[string]Type) *Client {
	n := *c
	n.Metadata = meta
	n.Types = types
	return &n
}

// Delivery is a dispatch (op 4) the bus sends to clients: its event type (t), nonce and
// payload, and the server time it was created at. One Delivery is shared by every recipient of
// a broadcast and must not be modified after it is handed to a Recipient.
type Delivery struct {
	// Event is the frame's t: SEND, BROADCAST, CLIENT_CONNECTED, ...
	Event string
	// Nonce is passed through unchanged from the sender; nil when absent.
	Nonce any
	// Payload is passed through unchanged from the sender.
	Payload any
	// At is the frame's ts, in milliseconds since the Unix epoch.
	At int64

	memoMu sync.Mutex // guards memo; a leaf lock, held only while looking up or storing
	memo   map[string][]byte
}

// Memo returns the bytes cached for key (a wire encoding's name), building and caching them
// with build on first use, so that a broadcast is encoded once per encoding rather than once
// per recipient. It is safe for concurrent use.
func (d *Delivery) Memo(key string, build func() ([]byte, error)) ([]byte, error) {
	d.memoMu.Lock()
	defer d.memoMu.Unlock()
	if b, ok := d.memo[key]; ok {
		return b, nil
	}
	b, err := build()
	if err != nil {
		return nil, err
	}
	if d.memo == nil {
		d.memo = make(map[string][]byte, 1)
	}
	d.memo[key] = b
	return b, nil
}

// Recipient receives what the bus routes to one client.
type Recipient interface {
	// Deliver queues d for the client without blocking and reports whether it was accepted. It
	// reports false when the client is gone, or when its outbound buffer is full, in which case
	// the recipient disconnects the client as a slow consumer itself. Safe for concurrent use.
	Deliver(d *Delivery) bool
}
