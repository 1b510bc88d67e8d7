package gateway

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"sync"
	"time"
)

// batchConn coalesces the socket writes of one batch of frames into one write, as nats-server
// does: coder/websocket flushes every message to the connection, which costs a system call per
// message. While a batch is open, writes (the websocket library's, including control frames
// from its reader) are appended to a buffer; flush writes the buffer at once. Outside a batch,
// writes go straight to the connection. Framing stays the library's.
type batchConn struct {
	net.Conn

	// unread holds the bytes the HTTP server read past the upgrade request before the hijack
	// (a client may send its first frame without waiting for the 101); Read returns them
	// first. Only the websocket library's reader reads, so it needs no lock.
	unread []byte

	mu       sync.Mutex // guards buf and batching; held during the flush write to keep order
	buf      []byte
	batching bool
}

// maxIdleBuf is the most buffer capacity kept between batches, so an idle connection does not
// hold a large buffer after a burst.
const maxIdleBuf = 64 << 10

// Read returns the bytes read before the hijack, then reads the socket.
func (b *batchConn) Read(p []byte) (int, error) {
	if len(b.unread) > 0 {
		n := copy(p, b.unread)
		b.unread = b.unread[n:]
		if len(b.unread) == 0 {
			b.unread = nil
		}
		return n, nil
	}
	return b.Conn.Read(p)
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.batching {
		b.buf = append(b.buf, p...)
		return len(p), nil
	}
	return b.Conn.Write(p)
}

// begin opens a batch.
func (b *batchConn) begin() {
	b.mu.Lock()
	b.batching = true
	b.mu.Unlock()
}

// flush closes the batch and writes what it gathered, within timeout.
func (b *batchConn) flush(timeout time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batching = false
	if len(b.buf) == 0 {
		return nil
	}
	if err := b.Conn.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	_, err := b.Conn.Write(b.buf)
	b.buf = b.buf[:0]
	if cap(b.buf) > maxIdleBuf {
		b.buf = nil
	}
	if dErr := b.Conn.SetWriteDeadline(time.Time{}); err == nil {
		err = dErr
	}
	return err
}

// batchingWriter hands the websocket library a batchConn when it hijacks the connection.
type batchingWriter struct {
	http.ResponseWriter
	conn *batchConn
}

// Hijack implements http.Hijacker.
func (w *batchingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errNoHijack
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	// Bytes the HTTP server had already read stay in front of the socket. They must live in
	// the connection itself: the websocket library keeps only what is in the returned reader's
	// buffer and then reads the connection directly.
	buffered, _ := brw.Reader.Peek(brw.Reader.Buffered())
	w.conn = &batchConn{Conn: nc, unread: bytes.Clone(buffered)}
	// Smaller buffers than net/http's 4 KiB ones: an idle connection should cost little, a
	// batch is buffered by batchConn anyway, and larger reads bypass the buffer.
	rw := bufio.NewReadWriter(bufio.NewReaderSize(w.conn, readBufferSize), bufio.NewWriterSize(w.conn, writeBufferSize))
	return w.conn, rw, nil
}

// Buffer sizes of a websocket connection.
const (
	readBufferSize  = 2048
	writeBufferSize = 1024
)
