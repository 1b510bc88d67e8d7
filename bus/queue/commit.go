package queue

import (
	"fmt"
	"time"
)

// commitLoop writes what was applied, batch after batch: while one batch is being written,
// the next one gathers, so concurrent producers share a commit (and its fsync). When the broker
// stops, it writes the last batch and returns.
func (b *Broker) commitLoop() {
	defer b.wg.Done()
	for {
		select {
		case <-b.commitWake:
			b.commit()
		case <-b.stop:
			b.commit()
			return
		}
	}
}

// commit writes the pending changes in one transaction, then runs the callbacks that waited
// for them. After a failed write, nothing more is written: memory is ahead of the disk, and
// every later confirmation fails until the process restarts and reloads the disk.
func (b *Broker) commit() {
	if b.replicator != nil {
		b.propose()
		return
	}
	b.mu.Lock()
	changes, callbacks, failed := b.pending, b.callbacks, b.failed
	b.pending, b.callbacks = nil, nil
	b.mu.Unlock()
	if len(changes) == 0 && len(callbacks) == 0 {
		return
	}
	err := failed
	var batch []Change
	if err == nil && len(changes) > 0 {
		batch = coalesce(changes)
	}
	if len(batch) > 0 {
		start := time.Now()
		if err = b.store.Save(batch); err != nil {
			err = fmt.Errorf("%w: %v", ErrStore, err)
			b.log.Error("queue commit failed: refusing work until restart", "error", err)
			b.mu.Lock()
			b.failed = err
			b.mu.Unlock()
		}
		b.metrics.commit(time.Since(start), len(batch))
	}
	for _, cb := range callbacks {
		cb(err)
	}
}

// coalesce keeps one change per message, its last (with the body if the message is new), and
// drops the messages both created and deleted in the batch: they never need to reach the disk.
func coalesce(changes []Change) []Change {
	type entry struct {
		at      int // index in out
		created bool
	}
	seen := make(map[msgKey]entry, len(changes))
	out := make([]Change, 0, len(changes))
	for _, ch := range changes {
		k := msgKey{ch.Queue, ch.Record.ID}
		e, ok := seen[k]
		if !ok {
			seen[k] = entry{at: len(out), created: ch.Body != nil}
			out = append(out, ch)
			continue
		}
		if e.created && ch.Body == nil {
			ch.Body = out[e.at].Body // the body is still to be written
		}
		out[e.at] = ch
	}
	kept := out[:0]
	for _, ch := range out {
		if ch.Deleted && seen[msgKey{ch.Queue, ch.Record.ID}].created {
			continue
		}
		kept = append(kept, ch)
	}
	return kept
}

// propose is commit for a replicated broker: the commands applied since the last proposal go
// to the log as one entry, and the callbacks run once it is committed and applied. The store
// is written when the log hands the entry back (ApplyLog), on every replica alike.
func (b *Broker) propose() {
	b.mu.Lock()
	cmds, changes, callbacks := b.cmds, b.pending, b.callbacks
	b.cmds, b.pending, b.callbacks = nil, nil, nil
	var entry []byte
	if len(cmds) > 0 && b.leading {
		b.proposals++
		entry = encodeEntry(b.token, b.proposals, cmds)
		b.proposed = append(b.proposed, proposal{seq: b.proposals, changes: changes})
	}
	b.mu.Unlock()
	if len(cmds) == 0 && len(callbacks) == 0 {
		return
	}
	var err error
	if entry == nil && len(cmds) > 0 {
		err = ErrNotLeader
	}
	if entry != nil {
		start := time.Now()
		if err = b.replicator.Replicate(entry); err != nil {
			err = fmt.Errorf("%w: %v", ErrNotLeader, err)
		}
		b.metrics.commit(time.Since(start), len(changes))
	}
	runAll(callbacks, err)
}
