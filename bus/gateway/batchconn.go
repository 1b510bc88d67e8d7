package gateway

import (
	"bufio"
	"bytes"
	"io"
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

	mu       sync.Mutex // guards buf and batching; held during the flush write to keep order
	buf      []byte
	batching bool
}

// maxIdleBuf is the most buffer capacity kept between batches, so an idle connection does not
// hold a large buffer after a burst.
const maxIdleBuf = 64 << 10

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
	w.conn = &batchConn{Conn: nc}
	// Smaller buffers than net/http's 4 KiB ones: an idle connection should cost little, a
	// batch is buffered by batchConn anyway, and larger reads bypass the buffer. Bytes the
	// HTTP server had already read stay in front of the socket.
	buffered, _ := brw.Reader.Peek(brw.Reader.Buffered())
	var r io.Reader = w.conn
	if len(buffered) > 0 {
		r = io.MultiReader(bytes.NewReader(bytes.Clone(buffered)), w.conn)
	}
	rw := bufio.NewReadWriter(bufio.NewReaderSize(r, readBufferSize), bufio.NewWriterSize(w.conn, writeBufferSize))
	return w.conn, rw, nil
}

// Buffer sizes of a websocket connection.
const (
	readBufferSize  = 2048
	writeBufferSize = 1024
)
