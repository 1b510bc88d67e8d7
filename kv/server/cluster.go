package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/mahou-go/mahou/kv/raftnode"
)

// TLSFiles names the PEM files of TLS for the API and the peers.
type TLSFiles struct {
	CertFile string
	KeyFile  string
	// CAFile verifies peer certificates (and API client certificates with ClientCertAuth);
	// empty uses the system roots.
	CAFile string
	// ClientCertAuth requires API clients to present a certificate signed by CAFile.
	ClientCertAuth bool
}

func (t TLSFiles) enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// load builds the API server's TLS config and the peers' (server and client in one), or nils.
func (t TLSFiles) load() (server, peer *tls.Config, err error) {
	if !t.enabled() {
		return nil, nil, nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("load TLS certificate: %w", err)
	}
	var pool *x509.CertPool
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("load TLS CA: %w", err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("load TLS CA %s: no PEM certificate in it", t.CAFile)
		}
	}
	server = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, ClientCAs: pool}
	if t.ClientCertAuth {
		server.ClientAuth = tls.RequireAndVerifyClientCert
	}
	peer = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, RootCAs: pool,
		ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	return server, peer, nil
}

// ParsePeers reads "id=host:port,id=host:port".
func ParsePeers(s string) ([]raftnode.Peer, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var peers []raftnode.Peer
	for _, part := range strings.Split(s, ",") {
		id, addr, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("peer %q: want id=host:port", part)
		}
		peers = append(peers, raftnode.Peer{ID: id, Addr: addr})
	}
	return peers, nil
}

func (c Config) validateCluster() []error {
	var errs []error
	if len(c.Peers) > 0 && len(c.Join) > 0 {
		errs = append(errs, errors.New("peers and join: bootstrap a new cluster with --peers, or join an existing one with --join, not both"))
	}
	if len(c.Peers) > 0 {
		if c.NodeID == "" {
			errs = append(errs, errors.New("peers: set --node-id to this node's id in the list"))
		}
		seen, self := map[string]bool{}, false
		for _, p := range c.Peers {
			if seen[p.ID] {
				errs = append(errs, fmt.Errorf("peers: id %q appears twice", p.ID))
			}
			seen[p.ID] = true
			self = self || p.ID == c.NodeID
			if _, _, err := net.SplitHostPort(p.Addr); err != nil {
				errs = append(errs, fmt.Errorf("peer %s address %q: want host:port", p.ID, p.Addr))
			}
		}
		if c.NodeID != "" && !self {
			errs = append(errs, fmt.Errorf("peers: this node's id %q is not in the list", c.NodeID))
		}
	}
	if len(c.Join) > 0 && c.NodeID == "" {
		errs = append(errs, errors.New("join: set --node-id, the id this node joins with"))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: give both --cert-file and --key-file"))
	}
	if c.TLS.ClientCertAuth && c.TLS.CAFile == "" {
		errs = append(errs, errors.New("tls: --client-cert-auth needs --trusted-ca-file"))
	}
	return errs
}
