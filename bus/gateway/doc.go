// Package gateway is the singyeong server: the websocket protocol at /gateway/websocket in the
// three encodings, the REST routes (/api/version, /api/v1/query), /metrics, /healthz and
// /readyz, and the limits that keep one client from hurting the others. Features beyond routing
// (durable queues, the HTTP proxy) plug in through its extension points: Handle (dispatch
// events), HandleHTTP (REST routes, with the same auth), OnPresence, OnMetadata, Finder,
// UpdateQueues and RegisterMetrics.
//
// Each connection has exactly two goroutines, both owned by the Server: a read loop (decode,
// then handle the frame inline: identify, heartbeat, routing a SEND to its recipients), and a
// write loop that drains the connection's bounded outbound queue in batches, each batch going
// out in one socket write (batchConn). Routing never
// blocks on a receiver: a delivery is appended to the receiver's queue, and a receiver whose
// queue is full is disconnected as a slow consumer. Frames from one connection are handled in
// order. Every error a client can cause is answered with the protocol's op 3 (the connection
// stays) or, for the documented fatal cases only, op 8 followed by a close with code 1000.
//
// Lock order (see docs/ARCHITECTURE.md): Server.mu, then query.Index's lock, then conn.mu,
// then bus.Delivery's memo lock. Only batchConn.mu, a leaf, is held while writing to a socket.
//
// This package imports bus, bus/query, bus/wire, bus/etf, coder/websocket and
// prometheus/client_golang. It must not import kv/, client/ or cmd/.
package gateway
