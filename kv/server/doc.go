// Package server assembles a crush node: the replicated state machine (raftnode) behind the
// HTTP API (kvhttp), with one Config, Open and Close. cmd/crush and the test harnesses use it, so
// every way of running crush runs the same wiring.
package server
