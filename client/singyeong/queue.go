package singyeong

import (
	"context"
	"fmt"
	"time"

	"github.com/coder/websocket"
)

// Queue enqueues payload on a durable queue, for one consumer that target matches and that
// asked for a message with QueueRequest, and waits for the server's QUEUE_CONFIRM: once it
// returns nil the message is on the server's disk and will be delivered at least once. nonce is
// passed through to the consumer (nil for none). Queue is safe for concurrent use; concurrent
// calls share the server's commits. An error from the server (an invalid target, a full queue)
// is a *ServerError; ErrNotConnected after the frame was sent means the outcome is unknown.
func (c *Client) Queue(ctx context.Context, queue string, target, payload, nonce any) error {
	if queue == "" {
		return fmt.Errorf("singyeong: queue: %w", errEmptyQueue)
	}
	ch := make(chan error, 1)
	err := func() error {
		// The server answers the QUEUE frames of a connection in the order they were sent:
		// register the waiter and write its frame under one lock so the orders agree.
		c.queueMu.Lock()
		defer c.queueMu.Unlock()
		ws, err := c.registerConfirm(queue, ch)
		if err != nil {
			return err
		}
		frame := map[string]any{"op": OpDispatch, "t": "QUEUE", "ts": time.Now().UnixMilli(),
			"d": map[string]any{"queue": queue, "target": target, "payload": payload, "nonce": nonce}}
		if err := c.write(ctx, ws, frame); err != nil {
			c.dropConfirm(queue, ch)
			return err
		}
		return nil
	}()
	if err != nil {
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-c.done:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("singyeong: wait for QUEUE_CONFIRM: %w", ctx.Err())
	}
}

// registerConfirm adds a waiter for the outcome of a QUEUE on queue, with the connection it
// will be sent on: both under one lock, so that a session ending fails every waiter it had.
func (c *Client) registerConfirm(queue string, ch chan error) (*websocket.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if c.ws == nil {
		return nil, ErrNotConnected
	}
	c.confirms[queue] = append(c.confirms[queue], ch)
	return c.ws, nil
}

// dropConfirm removes a waiter whose frame was never sent.
func (c *Client) dropConfirm(queue string, ch chan error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ws := c.confirms[queue]
	for i, w := range ws {
		if w == ch {
			c.confirms[queue] = append(ws[:i:i], ws[i+1:]...)
			break
		}
	}
	if len(c.confirms[queue]) == 0 {
		delete(c.confirms, queue)
	}
}

// settleConfirm hands the outcome of the oldest QUEUE on queue to its waiter; it reports
// false when nobody waits (a frame the application sent itself).
func (c *Client) settleConfirm(queue string, err error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ws := c.confirms[queue]
	if len(ws) == 0 {
		return false
	}
	ws[0] <- err
	if len(ws) == 1 {
		delete(c.confirms, queue)
	} else {
		c.confirms[queue] = ws[1:]
	}
	return true
}

// disconnected marks the connection gone and ends every wait for a QUEUE_CONFIRM: the outcome
// is unknown, so the caller may enqueue again (at least once).
func (c *Client) disconnected() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ws = nil
	for q, ws := range c.confirms {
		for _, ch := range ws {
			ch <- ErrNotConnected
		}
		delete(c.confirms, q)
	}
}

// routeQueueOutcome takes a QUEUE_CONFIRM, or an op 3 about a QUEUE frame, for the Queue call
// waiting for it; it reports whether it did.
func (c *Client) routeQueueOutcome(f Frame) bool {
	d, _ := f.D.(map[string]any)
	switch {
	case f.Op == OpDispatch && f.T == "QUEUE_CONFIRM":
		q, _ := d["queue"].(string)
		return c.settleConfirm(q, nil)
	case f.Op == OpInvalid:
		info, _ := d["extra_info"].(map[string]any)
		sent, _ := info["d"].(map[string]any)
		q, ok := sent["queue"].(string)
		if info["t"] != "QUEUE" || !ok {
			return false
		}
		return c.settleConfirm(q, asServerError(f))
	}
	return false
}

// QueueRequest asks for one message of a queue: the server delivers the oldest one whose target
// this client matches, now or when one comes, as a frame on Frames (see Frame.QueueMessage).
// Send it again for the next message. Requesting while a request is outstanding changes
// nothing.
func (c *Client) QueueRequest(ctx context.Context, queue string) error {
	return c.queueDispatch(ctx, "QUEUE_REQUEST", map[string]any{"queue": queue})
}

// QueueRequestCancel withdraws an outstanding QueueRequest.
func (c *Client) QueueRequestCancel(ctx context.Context, queue string) error {
	return c.queueDispatch(ctx, "QUEUE_REQUEST_CANCEL", map[string]any{"queue": queue})
}

// Ack tells the server that the message with id was processed: it is deleted and never
// delivered again. The server does not answer; an Ack is on disk once a Queue sent after it on
// the same client is confirmed.
func (c *Client) Ack(ctx context.Context, queue, id string) error {
	return c.queueDispatch(ctx, "QUEUE_ACK", map[string]any{"queue": queue, "id": id})
}

// Nack gives a message back: it is delivered again after delay (0: at once), unless it reached
// the server's delivery limit, when it goes to the queue's dead letters.
func (c *Client) Nack(ctx context.Context, queue, id string, delay time.Duration) error {
	d := map[string]any{"queue": queue, "id": id}
	if delay > 0 {
		d["delay"] = delay.Milliseconds()
	}
	return c.queueDispatch(ctx, "QUEUE_NACK", d)
}

func (c *Client) queueDispatch(ctx context.Context, t string, d map[string]any) error {
	if d["queue"] == "" {
		return fmt.Errorf("singyeong: %s: %w", t, errEmptyQueue)
	}
	return c.writeFrame(ctx, map[string]any{"op": OpDispatch, "t": t, "d": d})
}

// QueueMessage is a message a queue delivered to this client.
type QueueMessage struct {
	Queue   string
	ID      string
	Payload any
	Nonce   any
}

// QueueMessage returns the queue message a frame delivers; ok is false for any other frame.
func (f Frame) QueueMessage() (QueueMessage, bool) {
	d, _ := f.D.(map[string]any)
	p, _ := d["payload"].(map[string]any)
	q, okQ := p["queue"].(string)
	id, okID := p["id"].(string)
	if f.Op != OpDispatch || f.T != "QUEUE" || !okQ || !okID {
		return QueueMessage{}, false
	}
	return QueueMessage{Queue: q, ID: id, Payload: p["payload"], Nonce: d["nonce"]}, true
}
