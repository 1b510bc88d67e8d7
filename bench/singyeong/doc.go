// Command singyeong-bench is the load generator of the singyeong benchmarks: it connects
// receivers to a running server, routes SENDs to them from a few senders with a 256 B payload
// and a target query, and reports delivered msgs/s, p50/p99 latency (send to receipt), and
// the memory each idle client costs the server (RSS delta) and this process.
//
// Usage (see docs/BENCHMARKS.md):
//
//	singyeong serve --addr 127.0.0.1:4567 & # note its pid
//	go run ./bench/singyeong --server http://127.0.0.1:4567 --server-pid PID --clients 1000
//
// With --sender-server the senders connect to another node of the receivers' cluster, which
// measures a SEND crossing nodes (bench/singyeong/run.sh ... cluster starts a 3-node cluster).
//
// It uses only the public client package (client/singyeong) and must not import any server
// package.
package main
