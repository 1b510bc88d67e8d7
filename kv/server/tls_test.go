package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mahou-go/mahou/internal/testutil"
	"github.com/mahou-go/mahou/kv"
	"github.com/mahou-go/mahou/kv/server"
)

// writeCA makes a CA and one certificate for 127.0.0.1 signed by it, as PEM files in dir.
func writeCA(t *testing.T, dir string) (server.TLSFiles, *x509.CertPool) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "crush test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	files := server.TLSFiles{CertFile: filepath.Join(dir, "node.pem"), KeyFile: filepath.Join(dir, "node-key.pem"), CAFile: filepath.Join(dir, "ca.pem")}
	for path, block := range map[string]*pem.Block{
		files.CertFile: {Type: "CERTIFICATE", Bytes: der},
		files.KeyFile:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
		files.CAFile:   {Type: "CERTIFICATE", Bytes: caDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return files, pool
}

// Two nodes replicate over TLS (API and raft), and clients reach the API over HTTPS.
func TestServer_TLS(t *testing.T) {
	files, pool := writeCA(t, t.TempDir())
	a := startServer(t, server.Config{NodeID: "a", TLS: files})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := a.Node().WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	b := startServer(t, server.Config{NodeID: "b", TLS: files, Join: []string{a.Addr()}})
	testutil.Eventually(t, 15*time.Second, "b to become a voter over TLS", func() bool { return voters(t, a)["b"] })
	if _, err := b.Node().Propose(ctx, kv.Put{Fork: "default", Key: "k", Value: []byte("v")}); err != nil {
		t.Fatalf("write through b: %v", err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(b.URL() + "/v2/kv/k")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || b.URL()[:8] != "https://" {
		t.Fatalf("HTTPS read: %d from %s", resp.StatusCode, b.URL())
	}
	if _, err := http.Get(b.URL() + "/v2/kv/k"); err == nil {
		t.Fatal("a client that does not trust the CA was served")
	}
}
