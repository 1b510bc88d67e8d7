package testutil_test

import (
	"net"
	"strconv"
	"testing"

	"github.com/mahou-go/mahou/internal/testutil"
)

// FreeAddr hands out distinct loopback ports below the kernel's ephemeral range, free when
// returned.
func TestFreeAddr(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		addr := testutil.FreeAddr(t)
		if seen[addr] {
			t.Fatalf("%s handed out twice", addr)
		}
		seen[addr] = true
		host, p, err := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		if err != nil || host != "127.0.0.1" || port < 20000 || port >= 32768 {
			t.Fatalf("FreeAddr = %q: want 127.0.0.1 and a port in 20000-32767", addr)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("%s is not free: %v", addr, err)
		}
		ln.Close()
	}
}
