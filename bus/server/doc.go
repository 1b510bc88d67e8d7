// Package server assembles a singyeong node: the gateway (websocket protocol and REST API),
// the durable queues (a queue.Broker on a boltstore file in the data directory, replicated by
// a raftqueue group: of one voter on a single node, of every member in a cluster; served by
// queueapi through a queue.Service), the HTTP proxy, and, when Config.Cluster.BindAddr is set,
// the cluster (bus/cluster: membership, links, load balancing), with one Config, Open and
// Close. It serves GET /api/v1/cluster on a single node (bus/cluster serves it in a cluster)
// and DELETE /api/v1/cluster/members/{id}. cmd/singyeong, cmd/mahou and the tests use it, so
// every way of running singyeong runs the same wiring.
//
// Open order: the peer hub and routes (clustered nodes only: a node alone takes no peer
// connections), the cluster (built, not joined), the queue store, the
// API listener (so that its address is known), the broker, the cluster (joined), raft, the
// queue service, then serving. Close stops the gateway first (its clients' departures reach the
// other nodes), then the queue service, raft, the broker and its store, and leaves the cluster.
//
// This package imports the bus packages and nothing under kv/, client/ or cmd/.
package server
