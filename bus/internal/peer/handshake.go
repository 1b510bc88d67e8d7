package peer

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Identity names one end of a peer connection: the node's id and the id of its current run
// (random per process start), so that a peer can tell a restarted node from the one it knew.
type Identity struct {
	Node string
	Run  string
}

// magic opens the server's challenge; the version of the handshake is in it.
var magic = []byte("SGPEER1\n")

const (
	nonceSize = 16
	// maxNameBytes bounds the node and run ids of an identity.
	maxNameBytes = 255
	// HandshakeTimeout bounds the upgrade and the challenge-response.
	HandshakeTimeout = 5 * time.Second
)

// The handshake, after the HTTP upgrade:
//
//	server → client  magic · nonceS
//	client → server  nonceC · identity(client) · MAC(key, "client", proto, nonceS, nonceC, identity(client))
//	server → client  identity(server) · MAC(key, "server", proto, nonceS, nonceC, identity(client), identity(server))
//
// An identity is two length-prefixed strings (node, run). Each side checks the other's MAC, so
// each knows that the other holds the key and that nobody changed the names in between.

// serverHandshake runs the server side on c (reading through r) and returns the client's
// identity.
func serverHandshake(c net.Conn, r *bufio.Reader, key []byte, proto string, self Identity) (Identity, error) {
	_ = c.SetDeadline(time.Now().Add(HandshakeTimeout))
	defer c.SetDeadline(time.Time{})
	nonceS := make([]byte, nonceSize)
	_, _ = rand.Read(nonceS) // crypto/rand.Read never fails
	if _, err := c.Write(append(append([]byte(nil), magic...), nonceS...)); err != nil {
		return Identity{}, fmt.Errorf("send challenge: %w", err)
	}
	nonceC := make([]byte, nonceSize)
	if _, err := io.ReadFull(r, nonceC); err != nil {
		return Identity{}, fmt.Errorf("read response: %w", err)
	}
	client, clientRaw, err := readIdentity(r)
	if err != nil {
		return Identity{}, err
	}
	got := make([]byte, sha256.Size)
	if _, err := io.ReadFull(r, got); err != nil {
		return Identity{}, fmt.Errorf("read response: %w", err)
	}
	if !hmac.Equal(got, mac(key, "client", proto, nonceS, nonceC, clientRaw)) {
		return Identity{}, ErrAuth
	}
	selfRaw := appendIdentity(nil, self)
	proof := mac(key, "server", proto, nonceS, nonceC, clientRaw, selfRaw)
	if _, err := c.Write(append(selfRaw, proof...)); err != nil {
		return Identity{}, fmt.Errorf("send proof: %w", err)
	}
	return client, nil
}

// clientHandshake runs the client side on c (reading through r) and returns the server's
// identity.
func clientHandshake(c net.Conn, r *bufio.Reader, key []byte, proto string, self Identity) (Identity, error) {
	_ = c.SetDeadline(time.Now().Add(HandshakeTimeout))
	defer c.SetDeadline(time.Time{})
	hello := make([]byte, len(magic)+nonceSize)
	if _, err := io.ReadFull(r, hello); err != nil {
		return Identity{}, fmt.Errorf("read challenge: %w", err)
	}
	if !hmac.Equal(hello[:len(magic)], magic) {
		return Identity{}, fmt.Errorf("%w: bad challenge", ErrProtocol)
	}
	nonceS := hello[len(magic):]
	nonceC := make([]byte, nonceSize)
	_, _ = rand.Read(nonceC)
	selfRaw := appendIdentity(nil, self)
	msg := append(append(append([]byte(nil), nonceC...), selfRaw...), mac(key, "client", proto, nonceS, nonceC, selfRaw)...)
	if _, err := c.Write(msg); err != nil {
		return Identity{}, fmt.Errorf("send response: %w", err)
	}
	server, serverRaw, err := readIdentity(r)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return Identity{}, ErrAuth // a server that refuses our proof closes the connection
	}
	if err != nil {
		return Identity{}, err
	}
	proof := make([]byte, sha256.Size)
	if _, err := io.ReadFull(r, proof); err != nil {
		return Identity{}, ErrAuth // a server that refuses us closes here
	}
	if !hmac.Equal(proof, mac(key, "server", proto, nonceS, nonceC, selfRaw, serverRaw)) {
		return Identity{}, ErrAuth
	}
	return server, nil
}

func appendIdentity(b []byte, id Identity) []byte {
	for _, s := range [2]string{id.Node, id.Run} {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	return b
}

// readIdentity reads an identity and returns it with its raw bytes (which the MACs cover).
func readIdentity(r *bufio.Reader) (Identity, []byte, error) {
	var raw []byte
	var parts [2]string
	for i := range parts {
		var n [2]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return Identity{}, nil, fmt.Errorf("read identity: %w", err)
		}
		size := binary.BigEndian.Uint16(n[:])
		if size > maxNameBytes {
			return Identity{}, nil, fmt.Errorf("%w: identity of %d bytes", ErrProtocol, size)
		}
		s := make([]byte, size)
		if _, err := io.ReadFull(r, s); err != nil {
			return Identity{}, nil, fmt.Errorf("read identity: %w", err)
		}
		raw = append(append(raw, n[:]...), s...)
		parts[i] = string(s)
	}
	return Identity{Node: parts[0], Run: parts[1]}, raw, nil
}

func mac(key []byte, parts ...any) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		var b []byte
		switch x := p.(type) {
		case string:
			b = []byte(x)
		case []byte:
			b = x
		}
		m.Write(binary.BigEndian.AppendUint32(nil, uint32(len(b))))
		m.Write(b)
	}
	return m.Sum(nil)
}

// bufConn is a connection whose reads go through the reader that holds what was read past the
// handshake.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }
