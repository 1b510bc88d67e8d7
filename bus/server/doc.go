// Package server assembles a singyeong node: the gateway (websocket protocol and REST API),
// the durable queues (queue.Broker on a boltstore file in the data directory, served by
// queueapi) and the HTTP proxy, with one Config, Open and Close. cmd/singyeong and the tests
// use it, so every way of running singyeong runs the same wiring.
//
// This package imports the bus packages and nothing under kv/, client/ or cmd/.
package server
