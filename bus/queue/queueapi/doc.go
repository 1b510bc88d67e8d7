// Package queueapi puts the durable queues (a queue.Service: this node's broker, or the
// leader's in a cluster) on a singyeong gateway: the queue
// dispatch events of the websocket protocol (QUEUE, QUEUE_REQUEST, QUEUE_REQUEST_CANCEL,
// QUEUE_ACK, and QUEUE_NACK, which the original lacked) and the queue REST routes under
// /api/v1/queues. Register wires both, and the service's view of clients leaving and changing
// their metadata. In a cluster the REST routes are served by the leader (Options.Forward
// passes them on), except the backup, which copies this node's own replica.
//
// Every outcome of a QUEUE frame, QUEUE_CONFIRM or op 3, goes out once everything applied
// before it is on disk, so a connection gets them in the order it sent its QUEUE frames, and on
// one node a QUEUE_CONFIRM also confirms the ACKs and NACKs the connection sent before that
// QUEUE. In a cluster that holds while the queue leader and the links stay the same; ACKs sent
// just before a change of leader may be lost, and their messages delivered again.
//
// This package imports bus, bus/queue, bus/gateway, bus/wire and bus/etf. It must not import
// bbolt (the store is the caller's choice), kv/, client/ or cmd/.
package queueapi
