package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// machine describes where a run happened.
type machine struct {
	cpus      int
	cpuModel  string
	memGiB    float64
	kernel    string
	disk      string // size and free space of the filesystem holding the data directories
	fsync     latencies
	fsyncN    int
	loadStart string // /proc/loadavg at the start and the end
	loadEnd   string
}

// fsyncSamples is how many 4 KiB appends with fdatasync measure the disk.
const fsyncSamples = 500

// readMachine reads the machine's description and measures fdatasync latency in dir.
func readMachine(dir string) (machine, error) {
	m := machine{cpus: runtime.NumCPU(), cpuModel: cpuModel(), kernel: readTrim("/proc/sys/kernel/osrelease"),
		loadStart: loadAvg(), fsyncN: fsyncSamples}
	m.memGiB = float64(memTotalKiB()) / (1 << 20)
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err == nil {
		m.disk = fmt.Sprintf("%.0f GiB filesystem, %.0f GiB free", gib(st.Blocks*uint64(st.Bsize)), gib(st.Bavail*uint64(st.Bsize)))
	}
	lat, err := measureFsync(dir, fsyncSamples)
	if err != nil {
		return m, err
	}
	m.fsync = lat
	return m, nil
}

func gib(b uint64) float64 { return float64(b) / (1 << 30) }

// measureFsync appends n 4 KiB blocks to a new file in dir, each followed by fdatasync (what
// etcd's WAL and bbolt do on commit), and returns the latency of write plus fdatasync.
func measureFsync(dir string, n int) (latencies, error) {
	path := filepath.Join(dir, "fsync-probe")
	f, err := os.Create(path)
	if err != nil {
		return latencies{}, fmt.Errorf("measure fsync: %w", err)
	}
	defer os.Remove(path)
	defer f.Close()
	buf := make([]byte, 4096)
	samples := make([]time.Duration, 0, n)
	for i := range n {
		buf[0] = byte(i)
		t0 := time.Now()
		if _, err := f.Write(buf); err != nil {
			return latencies{}, fmt.Errorf("measure fsync: %w", err)
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return latencies{}, fmt.Errorf("measure fsync: %w", err)
		}
		samples = append(samples, time.Since(t0))
	}
	return summarize(samples), nil
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func memTotalKiB() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var kib int64
		if _, err := fmt.Sscanf(sc.Text(), "MemTotal: %d kB", &kib); err == nil {
			return kib
		}
	}
	return 0
}

// loadAvg returns the 1, 5 and 15 minute load averages.
func loadAvg() string {
	f := strings.Fields(readTrim("/proc/loadavg"))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
