// Package faults holds crush's fault tests: real `crush serve` processes killed with SIGKILL,
// restarted, partitioned, while clients write, with every acknowledged write checked afterwards.
// It has no non-test code. The tests are named TestFault… and run only when MAHOU_FAULT=1
// (see docs/OPERATIONS.md); .ci/run runs a bounded pass.
package faults
