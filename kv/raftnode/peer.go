package raftnode

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mahou-go/mahou/kv"
)

// peerHeader carries the peer signature of internal requests; nodeHeader the caller's node id
// (covered by the signature).
const (
	peerHeader = "X-Crush-Peer"
	nodeHeader = "X-Crush-Node"
)

// peerSkew bounds how old a signed internal request may be.
const peerSkew = time.Minute

var errPeerAuth = kv.ErrPeerAuth

// sign adds the peer signature: a timestamp and HMAC-SHA256(secret, ts · method · path · body).
// With no secret it adds nothing.
func (n *Node) sign(req *http.Request, body []byte) {
	req.Header.Set(nodeHeader, n.cfg.NodeID)
	if len(n.secret) == 0 {
		return
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set(peerHeader, ts+"."+hex.EncodeToString(n.peerMAC(ts, req.Method, req.URL.Path, n.cfg.NodeID, body)))
}

// verify checks a peer signature (anything passes when no secret is set).
func (n *Node) verify(r *http.Request, body []byte) error {
	if len(n.secret) == 0 {
		return nil
	}
	ts, sig, ok := strings.Cut(r.Header.Get(peerHeader), ".")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil {
		return fmt.Errorf("%w: no or malformed %s header", errPeerAuth, peerHeader)
	}
	if d := time.Since(time.Unix(sec, 0)); d > peerSkew || d < -peerSkew {
		return fmt.Errorf("%w: timestamp %v off (check the clocks)", errPeerAuth, d.Round(time.Second))
	}
	want := n.peerMAC(ts, r.Method, r.URL.Path, r.Header.Get(nodeHeader), body)
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, want) {
		return fmt.Errorf("%w: bad signature (is --peer-secret the same on every node?)", errPeerAuth)
	}
	return nil
}

func (n *Node) peerMAC(ts, method, path, node string, body []byte) []byte {
	m := hmac.New(sha256.New, n.secret)
	sum := sha256.Sum256(body)
	for _, part := range [][]byte{[]byte(ts), []byte(method), []byte(path), []byte(node), sum[:]} {
		m.Write(part)
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// peerCall sends a signed request to another node's API and returns the response body; a
// non-2xx status is an error with the body's message.
func (n *Node) peerCall(ctx context.Context, method, baseURL, path string, body []byte) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(baseURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	n.sign(req, body)
	resp, err := n.httpc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPeerBody))
	if err != nil {
		return nil, resp.StatusCode, err
	}
	return b, resp.StatusCode, nil
}

// maxPeerBody bounds internal request and response bodies (a txn of large values fits).
const maxPeerBody = 256 << 20
