package singyeong

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// QueueStats is what a durable queue holds (GET /api/v1/queues).
type QueueStats struct {
	Queue string `json:"queue"`
	// Depth is Ready + Delayed: the messages waiting for delivery.
	Depth            int64 `json:"depth"`
	Ready            int64 `json:"ready"`
	Delayed          int64 `json:"delayed"`
	InFlight         int64 `json:"in_flight"`
	DeadLettered     int64 `json:"dead_lettered"`
	WaitingConsumers int64 `json:"waiting_consumers"`
	Bytes            int64 `json:"bytes"`
}

// DeadLetter is a message in a queue's dead-letter list.
type DeadLetter struct {
	ID         string `json:"id"`
	Target     any    `json:"target"`
	Nonce      any    `json:"nonce"`
	Payload    any    `json:"payload"`
	EnqueuedAt int64  `json:"enqueued_at"`
	DeadAt     int64  `json:"dead_at"`
	Deliveries int64  `json:"deliveries"`
	Reason     string `json:"reason"`
}

// DeadLetterPage is one page of a dead-letter list, oldest first. Next is the cursor of the
// following page, 0 on the last.
type DeadLetterPage struct {
	DeadLetters []DeadLetter
	Next        uint64
}

// Queues lists the queues with their counts, sorted by name.
func (r REST) Queues(ctx context.Context) ([]QueueStats, error) {
	raw, err := r.do(ctx, http.MethodGet, "/api/v1/queues", nil, nil)
	if err != nil {
		return nil, err
	}
	m, err := decodeAnswer(raw)
	if err != nil {
		return nil, err
	}
	list, _ := m["queues"].([]any)
	out := make([]QueueStats, 0, len(list))
	for _, e := range list {
		q, _ := e.(map[string]any)
		out = append(out, statsFrom(q))
	}
	return out, nil
}

// QueueStats returns one queue's counts; an unknown queue is an *HTTPError with Code
// "queue_not_found".
func (r REST) QueueStats(ctx context.Context, queue string) (QueueStats, error) {
	raw, err := r.do(ctx, http.MethodGet, "/api/v1/queues/"+url.PathEscape(queue), nil, nil)
	if err != nil {
		return QueueStats{}, err
	}
	m, err := decodeAnswer(raw)
	if err != nil {
		return QueueStats{}, err
	}
	return statsFrom(m), nil
}

func statsFrom(q map[string]any) QueueStats {
	return QueueStats{Queue: stringOf(q["queue"]), Depth: intOf(q["depth"]), Ready: intOf(q["ready"]),
		Delayed: intOf(q["delayed"]), InFlight: intOf(q["in_flight"]), DeadLettered: intOf(q["dead_lettered"]),
		WaitingConsumers: intOf(q["waiting_consumers"]), Bytes: intOf(q["bytes"])}
}

// DeadLetters returns up to limit (0: the server's default, 100) dead letters of a queue after
// the cursor (0: from the oldest).
func (r REST) DeadLetters(ctx context.Context, queue string, after uint64, limit int) (DeadLetterPage, error) {
	params := url.Values{}
	if limit > 0 {
		params.Set("limit", strconv.Itoa(limit))
	}
	if c := formatCursor(after); c != "" {
		params.Set("after", c)
	}
	raw, err := r.do(ctx, http.MethodGet, "/api/v1/queues/"+url.PathEscape(queue)+"/dlq", params, nil)
	if err != nil {
		return DeadLetterPage{}, err
	}
	m, err := decodeAnswer(raw)
	if err != nil {
		return DeadLetterPage{}, err
	}
	var page DeadLetterPage
	if next, ok := m["next"].(string); ok {
		page.Next, _ = strconv.ParseUint(next, 10, 64)
	}
	list, _ := m["dead_letters"].([]any)
	for _, e := range list {
		d, _ := e.(map[string]any)
		page.DeadLetters = append(page.DeadLetters, DeadLetter{ID: stringOf(d["id"]), Target: d["target"], Nonce: d["nonce"],
			Payload: d["payload"], EnqueuedAt: intOf(d["enqueued_at"]), DeadAt: intOf(d["dead_at"]),
			Deliveries: intOf(d["deliveries"]), Reason: stringOf(d["reason"])})
	}
	return page, nil
}

// RequeueDeadLetters moves dead letters (ids, or every one when ids is nil) back to the tail
// of their queue and returns how many moved.
func (r REST) RequeueDeadLetters(ctx context.Context, queue string, ids []string) (int64, error) {
	return r.count(ctx, "/api/v1/queues/"+url.PathEscape(queue)+"/dlq/requeue", idsBody(ids), "requeued")
}

// PurgeDeadLetters deletes dead letters (ids, or every one when ids is nil) and returns how
// many.
func (r REST) PurgeDeadLetters(ctx context.Context, queue string, ids []string) (int64, error) {
	return r.count(ctx, "/api/v1/queues/"+url.PathEscape(queue)+"/dlq/purge", idsBody(ids), "purged")
}

// PurgeQueue deletes the messages of a queue that wait for delivery (in-flight ones and dead
// letters stay) and returns how many.
func (r REST) PurgeQueue(ctx context.Context, queue string) (int64, error) {
	return r.count(ctx, "/api/v1/queues/"+url.PathEscape(queue)+"/purge", nil, "purged")
}

func idsBody(ids []string) any {
	if ids == nil {
		return nil
	}
	list := make([]any, len(ids))
	for i, id := range ids {
		list[i] = id
	}
	return map[string]any{"ids": list}
}

func (r REST) count(ctx context.Context, path string, body any, key string) (int64, error) {
	raw, err := r.do(ctx, http.MethodPost, path, nil, body)
	if err != nil {
		return 0, err
	}
	m, err := decodeAnswer(raw)
	if err != nil {
		return 0, err
	}
	return intOf(m[key]), nil
}

// BackupQueues streams a consistent copy of the server's queue database (a queues.db file) to
// w and returns its size. A copy cut short is an error, never a short file reported as whole.
func (r REST) BackupQueues(ctx context.Context, w io.Writer) (int64, error) {
	hc := r.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(httpBase(r.Server), "/")+"/api/v1/backup/queues", nil)
	if err != nil {
		return 0, err
	}
	if r.Auth != "" {
		req.Header.Set("Authorization", r.Auth)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("singyeong: backup: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		return 0, &HTTPError{Status: resp.StatusCode, Code: errorCode(raw), Body: string(raw)}
	}
	n, err := io.Copy(w, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return n, fmt.Errorf("singyeong: backup: copied %d of %d bytes: %w", n, resp.ContentLength, err)
	}
	return n, nil
}
