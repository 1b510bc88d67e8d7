package peer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a signed internal request.
const (
	// NodeHeader names the calling node (covered by the signature).
	NodeHeader = "X-Singyeong-Node"
	// SignatureHeader carries "<unix seconds>.<hex HMAC-SHA256>".
	SignatureHeader = "X-Singyeong-Peer"
)

// maxSkew bounds how old (or how far ahead) a signed request may be.
const maxSkew = time.Minute

// Sign signs an internal request from node with key: the signature covers the time, the
// method, the path, the node and the SHA-256 of body.
func Sign(r *http.Request, key []byte, node string, body []byte) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	r.Header.Set(NodeHeader, node)
	r.Header.Set(SignatureHeader, ts+"."+hex.EncodeToString(requestMAC(key, ts, r.Method, r.URL.Path, node, body)))
}

// Verify checks the signature of an internal request whose body is body and returns the
// calling node. Errors wrap ErrAuth.
func Verify(r *http.Request, key []byte, body []byte) (string, error) {
	ts, sig, ok := strings.Cut(r.Header.Get(SignatureHeader), ".")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil {
		return "", fmt.Errorf("%w: no or malformed %s header", ErrAuth, SignatureHeader)
	}
	if d := time.Since(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return "", fmt.Errorf("%w: timestamp off by %v (check the clocks)", ErrAuth, d.Round(time.Second))
	}
	node := r.Header.Get(NodeHeader)
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, requestMAC(key, ts, r.Method, r.URL.Path, node, body)) {
		return "", fmt.Errorf("%w: bad signature", ErrAuth)
	}
	return node, nil
}

func requestMAC(key []byte, ts, method, path, node string, body []byte) []byte {
	sum := sha256.Sum256(body)
	return mac(key, "request", ts, method, path, node, sum[:])
}
