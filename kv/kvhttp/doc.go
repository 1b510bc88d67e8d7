// Package kvhttp serves crush's HTTP API over a kv.Store: the v1 routes, compatible with the
// original crush (routes, parameters, JSON shapes, base64 values and patches), and the v2 routes
// (reads at a rev, revision or time; compare-and-set; history, diff and revert; forks and
// three-way merges of keys and prefixes; transactions; watch; compaction and retention; status).
//
// Every handler returns (value, error); one table (errors.go) maps domain errors to an HTTP
// status and a stable error code. It imports the kv domain and kv/history only: never boltstore
// or raftnode, so any kv.Store can serve it.
package kvhttp
