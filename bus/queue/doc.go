// Package queue is singyeong's durable queues: named FIFO queues whose messages each carry their
// own target query, delivered to the consumers waiting on the queue (QUEUE_REQUEST) whose
// metadata match it, at least once, across restarts and kill -9.
//
// Three parts, each replaceable on its own:
//   - Machine is the queue state and the deterministic Commands that change it (Enqueue,
//     Deliver, Ack, Return, Expire, Release, RequeueDead, PurgeDead, Purge). Times, ids and
//     limits are stamped into the commands by whoever proposes them; Apply reads no clock. The
//     commands have a versioned binary encoding (EncodeCommand), so a raft log can carry them
//     and every replica's Machine stays the same.
//   - Store keeps the messages on disk: every change Apply makes is a Change for the store to
//     write (boltstore is the bbolt implementation). Records and bodies carry a version byte.
//   - Broker drives a Machine on one node: it applies commands, commits their changes to the
//     Store in group commits (a confirmation waits for the commit holding its command),
//     dispatches Ready messages to waiting consumers, and runs the ACK deadlines and NACK delays.
//
// Delivery: a message is Ready until a waiting consumer matches its target, then InFlight until
// it is acknowledged (deleted), NACKed (Ready again, or Delayed), or its ACK deadline passes or
// its consumer leaves (Ready again). After Config.MaxDeliveries deliveries it goes to the
// queue's dead-letter list instead, where the admin API can inspect, requeue or purge it.
//
// This package imports bus, bus/query, bus/wire (the msgpack codec of bodies), bus/etf and
// prometheus/client_golang. It must not import bus/gateway, bbolt, kv/, client/ or cmd/.
package queue
