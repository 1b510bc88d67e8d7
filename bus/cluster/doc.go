// Package cluster makes one bus of several singyeong nodes: a client connected to any node
// reaches every client of the cluster.
//
// Membership is hashicorp/memberlist (gossip, failure detection, encryption with the cluster
// key); each node announces its API address and run id in its memberlist metadata. Every node
// opens one link to every other node (an authenticated peer connection on the other node's
// API port, see bus/internal/peer) and sends on it, in order: the records of its own clients
// (all of them when the link starts, then every change), deliveries for the other node's
// clients, and messages for other parts (the replicated queues). The receiving node registers
// the other node's clients in its own gateway with a Recipient that queues on the link back,
// so routing (SEND, BROADCAST, selectors, key hashing, QUERY_NODES, the proxy) stays a local
// index lookup over the whole cluster's clients, and a metadata change is visible everywhere
// one link hop later. A node's clients are registered elsewhere only while its link is up:
// when the node dies (the link breaks, or memberlist declares it dead) or restarts (a new run
// id), they are removed, and a new link brings the live ones again.
//
// The duplicate client id check is cluster-wide: identify fails when the id is registered on
// any node; when two nodes accept the same id at once, the client that identified first keeps
// it and the other is closed with op 8 on its node. Each node announces CLIENT_CONNECTED and
// CLIENT_DISCONNECTED to its own subscribers, for its clients and the others'. A node with
// more than its share of the cluster's clients sends the excess op 7 goodbye, as the original.
//
// Lock order (see docs/ARCHITECTURE.md): Cluster.mu, then the gateway's and the queues'
// locks; linksMu and outLink.mu below the broker's lock and above the gateway index's lock;
// localMu and the event queue's lock are leaves.
//
// This package imports bus, bus/gateway, bus/etf, bus/wire, bus/internal/peer,
// hashicorp/memberlist and prometheus/client_golang. It must not import bus/queue, kv/,
// client/ or cmd/.
package cluster
