package gateway

import (
	"errors"
	"time"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/etf"
	"github.com/mahou-go/mahou/bus/query"
)

// dispatchFunc handles one op 4 frame of an identified client. m is the whole decoded frame
// ({op, t, d, ts}); d is m["d"]. It answers errors with op 3 and never closes the connection.
type dispatchFunc func(c *conn, m map[string]any, d any)

// dispatchTable maps an event type to its built-in handler. Other events (the queue events,
// say) join the table through Server.Handle; until then they are unknown events.
func dispatchTable() map[string]dispatchFunc {
	return map[string]dispatchFunc{
		"UPDATE_METADATA": (*conn).updateMetadata,
		"SEND":            routed(query.One),
		"BROADCAST":       routed(query.All),
		"QUERY_NODES":     (*conn).queryNodes,
	}
}

// dispatch routes an op 4 frame to its handler. A restricted client may only update its
// metadata; an event with no handler gets the original's "invalid dispatch payload".
func (c *conn) dispatch(m map[string]any) {
	t, _ := m["t"].(string)
	c.srv.metrics.dispatched(t).Inc()
	if c.restricted && t != "UPDATE_METADATA" {
		c.srv.metrics.invalidSent.Inc()
		c.send(c.frame(opInvalid, map[string]any{"error": restrictedDispatch(m["t"])}))
		return
	}
	h, ok := c.srv.dispatch[t]
	if !ok {
		c.invalid(errInvalidDispatch, invalidDispatchInfo(m))
		return
	}
	h(c, m, m["d"])
}

// invalidDispatchInfo is the extra_info of "invalid dispatch payload": the frame as the
// original's internal payload, with op as the atom dispatch.
func invalidDispatchInfo(m map[string]any) etf.Struct {
	return etf.Struct{{Key: "op", Value: etf.Atom("dispatch")}, {Key: "t", Value: m["t"]},
		{Key: "d", Value: m["d"]}, {Key: "ts", Value: m["ts"]}}
}

// updateMetadata validates the update as a whole and applies it at once; routing sees it as
// soon as this returns.
func (c *conn) updateMetadata(_ map[string]any, d any) {
	up, err := bus.ParseMetadata(d)
	if err != nil {
		c.invalid(errInvalidMetadata, metadataProblems(err))
		return
	}
	strategy := c.srv.cfg.MetadataStrategy
	updated, err := c.srv.index.Update(c.key, func(old *bus.Client) *bus.Client {
		return old.With(bus.Apply(old, up, strategy))
	})
	if err != nil {
		c.log.Error("metadata update for an unregistered client", "error", err)
		return
	}
	c.srv.localChanged(updated, false)
	c.srv.metadataChanged(c.key)
}

// routed returns the SEND or BROADCAST handler.
func routed(mode query.Mode) dispatchFunc {
	return func(c *conn, m map[string]any, d any) {
		dm, ok := d.(map[string]any)
		if !ok {
			c.invalid(errInvalidDispatch, invalidDispatchInfo(m))
			return
		}
		target, ok := dm["target"]
		if !ok {
			c.invalid(errInvalidDispatch, invalidDispatchInfo(m))
			return
		}
		q, err := query.Parse(target)
		if err != nil {
			c.invalid(errInvalidQuery, queryProblem(err))
			return
		}
		t := m["t"].(string)
		start := time.Now()
		targets := query.Route(c.srv.index, q, mode)
		if len(targets) == 0 {
			c.noRoute(m, dm, q)
			return
		}
		delivery := &bus.Delivery{Event: t, Nonce: dm["nonce"], Payload: dm["payload"], At: c.srv.nowMillis()}
		for _, tg := range targets {
			tg.Recipient.Deliver(delivery)
		}
		c.srv.metrics.delivered(t).Add(float64(len(targets)))
		c.srv.metrics.routeSeconds.Observe(time.Since(start).Seconds())
	}
}

// noRoute answers a SEND or BROADCAST that matched nobody: nothing when the target is
// droppable, otherwise op 3 no_route whose extra_info is the sent frame, with the client's own
// d (its query as sent, so that it always encodes).
func (c *conn) noRoute(m, d map[string]any, q *bus.Query) {
	c.srv.metrics.noRoute.Inc()
	if q.Droppable {
		return
	}
	c.invalid(etf.Atom(errNoRoute), etf.Struct{
		{Key: "op", Value: opDispatch}, {Key: "t", Value: m["t"]}, {Key: "ts", Value: m["ts"]}, {Key: "d", Value: d},
	})
}

// queryProblem is the extra_info of "invalid query": what is wrong, without the sentinel's
// prefix.
func queryProblem(err error) string {
	msg := err.Error()
	prefix := bus.ErrInvalidQuery.Error() + ": "
	if errors.Is(err, bus.ErrInvalidQuery) && len(msg) > len(prefix) {
		return msg[len(prefix):]
	}
	return msg
}

// queryNodes answers QUERY_NODES with the clients the query in d targets, as
// POST /api/v1/query does: op 4, t QUERY_NODES, d {"nodes": [...]}.
func (c *conn) queryNodes(_ map[string]any, d any) {
	q, err := query.Parse(d)
	if err != nil {
		c.invalid(errInvalidQuery, queryProblem(err))
		return
	}
	nodes := c.srv.queryClients(q)
	f := c.frame(opDispatch, map[string]any{"nodes": nodes})
	f.T = "QUERY_NODES"
	c.send(f)
}
