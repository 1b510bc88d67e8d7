// Package bus is the domain of singyeong, the metadata-routed message bus: the nouns every
// other bus package shares (Client, Metadata and its Types, Query and its Ops, Delivery,
// Recipient, and the durable queues' QueueMessage, DeadLetter and QueueStats) and the package's
// sentinel errors.
//
// Values. Metadata values, query operands and message payloads are plain Go values of exactly
// these types: nil, bool, int64, float64, string, []any and map[string]any. The three wire
// encodings (json, msgpack, etf) decode into this model and encode from it, so a message sent
// in one encoding reaches a client speaking another unchanged. Integers and floats stay
// distinct (1 is an integer, 1.0 a float) because metadata validation depends on it.
//
// Routing never addresses a client by id: a Query (application, restricted, droppable,
// optional, key, ops, selector) selects the clients, and a Recipient receives what is routed to
// one of them. A Recipient is usually a local websocket connection; a cluster node can stand in
// for a client connected elsewhere.
//
// This package imports only the standard library. It must not import any implementation
// (bus/query, bus/gateway, bus/etf) nor anything under kv/ or client/.
package bus
