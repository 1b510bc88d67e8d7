package testutil

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// FaultSeed skips a fault test unless MAHOU_FAULT=1, and returns the seed to use
// (MAHOU_FAULT_SEED, or the clock), logged so that a failure can be replayed.
func FaultSeed(t *testing.T) uint64 {
	t.Helper()
	if os.Getenv("MAHOU_FAULT") != "1" {
		t.Skip("fault test: set MAHOU_FAULT=1 to run")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("MAHOU_FAULT_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("MAHOU_FAULT_SEED=%q: %v", s, err)
		}
		seed = n
	}
	t.Logf("seed %d (replay with MAHOU_FAULT_SEED=%d)", seed, seed)
	return seed
}

// EnvInt reads a positive integer knob of a test, with a default.
func EnvInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
