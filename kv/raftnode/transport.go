package raftnode

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// handshakeMagic opens the peer handshake; the version is in it.
var handshakeMagic = []byte("CRUSHRAFT1")

// handshakeTimeout bounds a peer handshake.
const handshakeTimeout = 5 * time.Second

// errHandshake is a failed peer authentication.
var errHandshake = errors.New("peer handshake failed: the peers do not share the same --peer-secret")

// peerStream is raft's stream layer: TCP, optionally TLS, and, with a shared secret, a mutual
// challenge-response before raft sees the connection, so only peers that know the secret take
// part in replication. The secret never crosses the wire.
//
//	server → client  "CRUSHRAFT1" · nonceS (16 bytes)
//	client → server  nonceC (16) · HMAC-SHA256(secret, "client" · nonceS · nonceC)
//	server → client  HMAC-SHA256(secret, "server" · nonceS · nonceC)
//
// Outgoing connections are bound to the advertised IP, so a peer (or a test's fault proxy) can
// tell nodes apart by source address.
type peerStream struct {
	ln        net.Listener
	advertise net.Addr
	secret    []byte
	tls       *tls.Config
	log       *slog.Logger

	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

var _ raft.StreamLayer = (*peerStream)(nil)

func newPeerStream(bind string, advertise string, secret []byte, tlsCfg *tls.Config, log *slog.Logger) (*peerStream, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("listen raft on %s: %w", bind, err)
	}
	var adv net.Addr = ln.Addr()
	if advertise != "" {
		a, err := net.ResolveTCPAddr("tcp", advertise)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("advertise address %q: %w", advertise, err)
		}
		adv = a
	}
	if tcp, ok := adv.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		ln.Close()
		return nil, fmt.Errorf("raft address %s is not one peers can dial: set --advertise-raft-addr", adv)
	}
	s := &peerStream{ln: ln, advertise: adv, secret: secret, tls: tlsCfg, log: log,
		conns: make(chan net.Conn), closed: make(chan struct{})}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// acceptLoop accepts connections and authenticates each in its own goroutine, so a slow or
// hostile peer cannot stall raft's listener.
func (s *peerStream) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.closed:
				return
			default:
			}
			s.log.Warn("raft accept", "err", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			conn, err := s.serverSide(c)
			if err != nil {
				s.log.Warn("refused raft connection", "remote", c.RemoteAddr().String(), "err", err)
				c.Close()
				return
			}
			select {
			case s.conns <- conn:
			case <-s.closed:
				conn.Close()
			}
		}()
	}
}

func (s *peerStream) serverSide(c net.Conn) (net.Conn, error) {
	if s.tls != nil {
		c = tls.Server(c, s.tls)
	}
	if len(s.secret) == 0 {
		return c, nil
	}
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	nonceS := make([]byte, 16)
	if _, err := rand.Read(nonceS); err != nil {
		return nil, err
	}
	if _, err := c.Write(append(handshakeMagic, nonceS...)); err != nil {
		return nil, fmt.Errorf("send challenge: %w", err)
	}
	reply := make([]byte, 16+sha256.Size)
	if _, err := io.ReadFull(c, reply); err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	nonceC := reply[:16]
	if !hmac.Equal(reply[16:], s.mac("client", nonceS, nonceC)) {
		return nil, errHandshake
	}
	if _, err := c.Write(s.mac("server", nonceS, nonceC)); err != nil {
		return nil, fmt.Errorf("send proof: %w", err)
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// Dial implements raft.StreamLayer.
func (s *peerStream) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	if tcp, ok := s.advertise.(*net.TCPAddr); ok && tcp.IP.IsLoopback() {
		d.LocalAddr = &net.TCPAddr{IP: tcp.IP}
	}
	c, err := d.Dial("tcp", string(address))
	if err != nil {
		return nil, err
	}
	if s.tls != nil {
		cfg := s.tls.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(string(address))
		}
		c = tls.Client(c, cfg)
	}
	if len(s.secret) == 0 {
		return c, nil
	}
	if err := s.clientSide(c); err != nil {
		c.Close()
		return nil, fmt.Errorf("dial raft peer %s: %w", address, err)
	}
	return c, nil
}

func (s *peerStream) clientSide(c net.Conn) error {
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	hello := make([]byte, len(handshakeMagic)+16)
	if _, err := io.ReadFull(c, hello); err != nil {
		return fmt.Errorf("read challenge: %w", err)
	}
	if !hmac.Equal(hello[:len(handshakeMagic)], handshakeMagic) {
		return errHandshake
	}
	nonceS := hello[len(handshakeMagic):]
	nonceC := make([]byte, 16)
	if _, err := rand.Read(nonceC); err != nil {
		return err
	}
	if _, err := c.Write(append(nonceC, s.mac("client", nonceS, nonceC)...)); err != nil {
		return fmt.Errorf("send response: %w", err)
	}
	proof := make([]byte, sha256.Size)
	if _, err := io.ReadFull(c, proof); err != nil {
		return errHandshake
	}
	if !hmac.Equal(proof, s.mac("server", nonceS, nonceC)) {
		return errHandshake
	}
	return c.SetDeadline(time.Time{})
}

func (s *peerStream) mac(side string, nonceS, nonceC []byte) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(side))
	m.Write(nonceS)
	m.Write(nonceC)
	return m.Sum(nil)
}

// Accept implements net.Listener.
func (s *peerStream) Accept() (net.Conn, error) {
	select {
	case c := <-s.conns:
		return c, nil
	case <-s.closed:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener; it waits for the handshakes in flight.
func (s *peerStream) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closed)
		err = s.ln.Close()
		s.wg.Wait()
	})
	return err
}

// Addr implements net.Listener: the advertised address.
func (s *peerStream) Addr() net.Addr { return s.advertise }
