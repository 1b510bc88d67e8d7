// Package peer authenticates the connections between the nodes of a singyeong cluster. Nodes
// talk over the API listener they already have: a node opens a peer connection with an
// HTTP/1.1 upgrade (GET /internal/v1/peer?proto=NAME, "Upgrade: singyeong-peer"), and
// both ends then prove that they know the cluster key with a challenge-response before the
// connection is handed to its protocol (the cluster link, raft). The key never crosses the
// wire. The connections are authenticated, not encrypted.
//
// Without a key the handshake still names both ends, but anyone who can reach the API port can
// take part: a cluster without a key must run on a network only its nodes reach.
//
// This package imports only the standard library. It must not import the other bus packages,
// kv/, client/ or cmd/.
package peer
