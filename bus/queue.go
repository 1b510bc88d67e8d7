package bus

// QueueMessage is a message of a durable queue, as the queue API shows it.
type QueueMessage struct {
	// ID is the message's id (a UUID v4), the one consumers ACK.
	ID string
	// Queue names the queue the message is in.
	Queue string
	// Target is the message's target query as the producer sent it; it is evaluated when the
	// message is dispatched.
	Target any
	// Nonce and Payload are passed through to the consumer unchanged.
	Nonce   any
	Payload any
	// EnqueuedAt is when the queue accepted the message, in ms since the Unix epoch.
	EnqueuedAt int64
	// Deliveries counts the times the message was handed to a consumer.
	Deliveries int
}

// DeadLetter is a message in a queue's dead-letter list.
type DeadLetter struct {
	QueueMessage
	// DeadAt is when the message was dead-lettered, in ms since the Unix epoch.
	DeadAt int64
	// Reason says why, e.g. "max_deliveries".
	Reason string
}

// QueueStats counts what one queue holds.
type QueueStats struct {
	Name string
	// Ready messages wait for a consumer; Delayed ones wait for the end of a NACK delay. Their
	// sum is the queue's depth.
	Ready, Delayed int
	// InFlight messages were delivered and wait for their ACK.
	InFlight int
	// Dead messages are in the dead-letter list.
	Dead int
	// Waiting counts the consumers with an outstanding QUEUE_REQUEST.
	Waiting int
	// Bytes is the stored size of every message the queue holds.
	Bytes int64
}

// Depth is the number of messages waiting for delivery: ready and delayed.
func (s QueueStats) Depth() int { return s.Ready + s.Delayed }
