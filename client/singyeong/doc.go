// Package singyeong is a Go client for a singyeong server: the websocket protocol (identify,
// heartbeats, metadata, SEND, BROADCAST, QUERY_NODES, the durable queues, received dispatches)
// in JSON or msgpack, and the REST API (REST: query, queue administration, the HTTP proxy). It
// is what the singyeong CLI uses, exactly as any other program would.
//
// This package imports no server package (nothing under bus/, kv/ or cmd/): it speaks the
// wire protocol only.
package singyeong
