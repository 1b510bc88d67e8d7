// Command bench runs crush side by side with etcd (and, through bench/singyeong, singyeong
// with NATS) on this machine and prints a markdown table of medians and ratios.
//
//	go run ./bench kv          # puts and gets: 256 B and 4 KiB values, 1/16/64/256 clients
//	go run ./bench timetravel  # read a random one of 10,000 revs; bytes stored per rev
//	go run ./bench all         # both, then the singyeong/NATS comparison of bench/singyeong
//
// It installs the peers when they are missing and it runs as root (apt-get install -y
// etcd-server nats-server), builds crush, starts every server on 127.0.0.1 with free ports and
// temporary data directories, runs the peer and crush alternately (A B A B, --rounds times per
// cell), and stops every process it started, also on Ctrl-C or an error: each server runs in
// its own process group, which is killed whole.
//
// The load is closed-loop: each client goroutine has its own connection (HTTP keep-alive for
// crush, its own etcd clientv3.Client for etcd) and sends the next request when the previous
// one is answered. Only acknowledged operations count; the first error from a system under
// test stops the run and is printed. Durable settings on both sides: crush fsyncs its raft log
// and its bbolt store, etcd fsyncs by default (the benchmark never passes --unsafe-no-fsync).
//
// The package drives crush only over its HTTP API and etcd only over its official Go client;
// it imports no crush server package except in tests (an in-process server there).
package main
