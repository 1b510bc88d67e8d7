package queue

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/mahou-go/mahou/bus"
)

// Stats returns what every queue holds, sorted by name: the queues that hold or held messages,
// and the queues consumers wait on.
func (b *Broker) Stats() []bus.QueueStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	names := b.m.Queues()
	for name := range b.waiting {
		if _, ok := b.m.queues[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	out := make([]bus.QueueStats, len(names))
	for i, name := range names {
		out[i] = b.statsLocked(name)
	}
	return out
}

// QueueStats returns what one queue holds, or bus.ErrQueueNotFound.
func (b *Broker) QueueStats(name string) (bus.QueueStats, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.known(name) {
		return bus.QueueStats{}, fmt.Errorf("stats %q: %w", name, bus.ErrQueueNotFound)
	}
	return b.statsLocked(name), nil
}

func (b *Broker) known(name string) bool {
	_, held := b.m.queues[name]
	_, waited := b.waiting[name]
	return held || waited
}

func (b *Broker) statsLocked(name string) bus.QueueStats {
	s, _ := b.m.Stats(name)
	s.Name = name
	if w := b.waiting[name]; w != nil {
		s.Waiting = w.len()
	}
	return s
}

// DeadLetters returns up to limit dead letters of a queue after the cursor (0 for the first
// page), oldest first, and the cursor of the next page (0 when this is the last).
func (b *Broker) DeadLetters(queue string, after uint64, limit int) ([]bus.DeadLetter, uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.known(queue) {
		return nil, 0, fmt.Errorf("dead letters of %q: %w", queue, bus.ErrQueueNotFound)
	}
	dead, next := b.m.DeadLetters(queue, after, max(limit, 1))
	return dead, next, nil
}

// RequeueDead moves dead letters (ids, or all of them when ids is nil) back to the tail of the
// queue with their delivery count reset, and returns how many moved, once that is on disk.
func (b *Broker) RequeueDead(ctx context.Context, queue string, ids []string) (int, error) {
	return b.adminCommand(ctx, queue, func(at int64) Command {
		return RequeueDead{Queue: queue, IDs: ids, All: ids == nil, At: at}
	})
}

// PurgeDead deletes dead letters (ids, or all of them when ids is nil) and returns how many,
// once that is on disk.
func (b *Broker) PurgeDead(ctx context.Context, queue string, ids []string) (int, error) {
	return b.adminCommand(ctx, queue, func(int64) Command { return PurgeDead{Queue: queue, IDs: ids, All: ids == nil} })
}

// Purge deletes every message of a queue that waits for delivery (ready or delayed) and
// returns how many, once that is on disk. Messages in flight and dead letters stay.
func (b *Broker) Purge(ctx context.Context, queue string) (int, error) {
	return b.adminCommand(ctx, queue, func(int64) Command { return Purge{Queue: queue} })
}

// adminCommand applies the command cmd builds and waits until it is on disk.
func (b *Broker) adminCommand(ctx context.Context, queue string, cmd func(at int64) Command) (int, error) {
	done := make(chan error, 1)
	b.mu.Lock()
	if err := b.usable(); err != nil {
		b.mu.Unlock()
		return 0, err
	}
	if !b.known(queue) {
		b.mu.Unlock()
		return 0, fmt.Errorf("%q: %w", queue, bus.ErrQueueNotFound)
	}
	res := b.apply(cmd(b.stamp()))
	b.callbacks = append(b.callbacks, func(err error) { done <- err })
	b.settle()
	b.mu.Unlock()
	select {
	case err := <-done:
		return res.N, err
	case <-ctx.Done():
		return 0, fmt.Errorf("wait for the commit: %w", ctx.Err())
	}
}

// Backup writes a consistent copy of the queue store to w, if the store can (a Backuper), and
// returns its size; size is called with it before anything is written. The copy holds what was
// committed when it began.
func (b *Broker) Backup(w io.Writer, size func(int64)) (int64, error) {
	bk, ok := b.store.(Backuper)
	if !ok {
		return 0, fmt.Errorf("back up queues: %w: the store cannot copy itself", ErrUnsupported)
	}
	b.mu.Lock()
	err := b.usable()
	b.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("back up queues: %w", err)
	}
	return bk.Backup(w, size)
}
