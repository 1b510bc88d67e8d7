package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of utime and stime in /proc/PID/stat (100 on
// every Linux architecture Go supports, whatever the kernel's HZ).
const clockTicks = 100

// procCPU returns the CPU time (user plus system, all threads) a process has used so far.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("read cpu time of %d: %w", pid, err)
	}
	// fields after the command name, which is in parentheses and may hold spaces
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("read cpu time of %d: short stat line", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("read cpu time of %d: bad utime/stime", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// cpuTime returns the CPU time used so far by every server process of the cluster; 0 for a
// cluster of no processes (in tests).
func (c *cluster) cpuTime() time.Duration {
	var total time.Duration
	for _, n := range c.nodes {
		if n.proc == nil {
			continue
		}
		if d, err := procCPU(n.proc.cmd.Process.Pid); err == nil {
			total += d
		}
	}
	return total
}
