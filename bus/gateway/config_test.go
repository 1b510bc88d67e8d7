package gateway_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mahou-go/mahou/bus/gateway"
)

func TestConfig_ValidateNamesEveryRule(t *testing.T) {
	if err := gateway.DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	var cfg gateway.Config
	cfg.MetadataStrategy = "append"
	err := cfg.Validate()
	if !errors.Is(err, gateway.ErrConfig) {
		t.Fatalf("got %v, want ErrConfig", err)
	}
	for _, rule := range []string{"addr", "data dir", "heartbeat interval", "idle timeout", "max frame bytes",
		"max connections", "outbound frames", "write timeout", "max depth", "max body bytes", "auth failures",
		"auth failure window", "metadata strategy"} {
		if !strings.Contains(err.Error(), rule) {
			t.Errorf("error %q does not name %q", err, rule)
		}
	}
	if _, err := gateway.NewServer(cfg, nil); !errors.Is(err, gateway.ErrConfig) {
		t.Errorf("NewServer with a bad config: got %v", err)
	}
}

func TestServer_Lifecycle(t *testing.T) {
	cfg := gateway.DefaultConfig()
	cfg.Addr, cfg.DataDir = "127.0.0.1:0", t.TempDir()
	srv, err := gateway.NewServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != "" {
		t.Errorf("Addr before Start = %q, want empty", srv.Addr())
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); !errors.Is(err, gateway.ErrServerState) {
		t.Errorf("second Start: got %v, want ErrServerState", err)
	}
	connect(t, srv, "json", "life", "c", nil)
	for range 2 {
		if err := srv.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if err := srv.Start(); !errors.Is(err, gateway.ErrServerState) {
		t.Errorf("Start after Close: got %v, want ErrServerState", err)
	}
	resp := httpGetErr(srv.Addr())
	if resp == nil {
		return
	}
	t.Errorf("server still answers after Close")
}
