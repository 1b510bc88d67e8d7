package query

import (
	"math"
	"math/rand/v2"
	"sync"

	"github.com/mahou-go/mahou/bus"
)

// Target is one client a query matched, and where to deliver to it.
type Target struct {
	Client    *bus.Client
	Recipient bus.Recipient
}

// Index holds the connected clients and finds the ones a query targets. It keeps every client
// in its application's set and, for each top-level metadata key holding a scalar (string,
// number, boolean, null), in an equality set per (application, key, value) and per (key, value)
// across applications. A query is evaluated only on the smallest of the sets its application
// and its top-level $eq/$in ops allow, so routing cost follows the size of that set, not the
// number of connected clients. Index is safe for concurrent use.
type Index struct {
	mu      sync.RWMutex // guards entries, all, apps, eq; a leaf lock: nothing is called while held
	entries map[bus.ClientKey]*entry
	all     *set
	apps    map[string]*set
	eq      map[eqKey]*set
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{
		entries: make(map[bus.ClientKey]*entry),
		all:     newSet(),
		apps:    make(map[string]*set),
		eq:      make(map[eqKey]*set),
	}
}

type entry struct {
	client *bus.Client
	rcpt   bus.Recipient
}

// anyApp is the application part of an equality key that spans every application. It cannot
// collide with a real application id because those are matched on their own field.
const anyApp = "\x00*"

// unindexed keys change too often to be worth an equality set.
var unindexed = map[string]bool{bus.KeyLastHeartbeatTime: true}

type scalarKind uint8

const (
	kindNil scalarKind = iota + 1
	kindFalse
	kindTrue
	kindNumber
	kindString
)

// scalar is a metadata value reduced to a comparable map key. Numbers are keyed by their
// float64 value so that 1 and 1.0 share a set; integers too large for a float64 to tell apart
// share a set too, which only widens the candidates the full query is evaluated on.
type scalar struct {
	kind scalarKind
	num  uint64
	str  string
}

type eqKey struct {
	app string
	key string
	val scalar
}

func toScalar(v any) (scalar, bool) {
	switch x := v.(type) {
	case nil:
		return scalar{kind: kindNil}, true
	case bool:
		if x {
			return scalar{kind: kindTrue}, true
		}
		return scalar{kind: kindFalse}, true
	case string:
		return scalar{kind: kindString, str: x}, true
	case int64:
		return numberScalar(float64(x)), true
	case float64:
		return numberScalar(x), true
	}
	return scalar{}, false
}

func numberScalar(f float64) scalar {
	switch {
	case f == 0:
		f = 0 // -0 and +0 are equal
	case math.IsNaN(f):
		f = math.NaN()
	}
	return scalar{kind: kindNumber, num: math.Float64bits(f)}
}

// Add registers a client and the recipient of what is routed to it. It returns
// bus.ErrAlreadyRegistered if a client with the same key is registered.
func (ix *Index) Add(c *bus.Client, r bus.Recipient) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if _, ok := ix.entries[c.Key]; ok {
		return bus.ErrAlreadyRegistered
	}
	e := &entry{client: c, rcpt: r}
	ix.entries[c.Key] = e
	ix.all.add(e)
	app := ix.apps[c.Key.App]
	if app == nil {
		app = newSet()
		ix.apps[c.Key.App] = app
	}
	app.add(e)
	for k, v := range c.Metadata {
		ix.indexValue(e, k, v)
	}
	return nil
}

// Remove unregisters the client with key k if its recipient is r, so that a connection that
// lost its registration cannot remove its successor's. It reports whether it removed anything.
func (ix *Index) Remove(k bus.ClientKey, r bus.Recipient) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	e, ok := ix.entries[k]
	if !ok || e.rcpt != r {
		return false
	}
	delete(ix.entries, k)
	ix.all.remove(e)
	if app := ix.apps[k.App]; app != nil {
		app.remove(e)
		if app.len() == 0 {
			delete(ix.apps, k.App)
		}
	}
	for key, v := range e.client.Metadata {
		ix.unindexValue(e, key, v)
	}
	return true
}

// Update replaces the client with key k by update(current), atomically with respect to
// routing: a query sees either the old client or the new one. It returns the new client, or
// bus.ErrUnknownClient. update must not call into the index.
func (ix *Index) Update(k bus.ClientKey, update func(*bus.Client) *bus.Client) (*bus.Client, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	e, ok := ix.entries[k]
	if !ok {
		return nil, bus.ErrUnknownClient
	}
	next := update(e.client)
	ix.swap(e, next)
	return next, nil
}

// swap makes next the record of e, re-indexing the values that changed. ix.mu must be held.
func (ix *Index) swap(e *entry, next *bus.Client) {
	old := e.client
	for key, v := range old.Metadata {
		if nv, ok := next.Metadata[key]; !ok || !sameScalar(v, nv) {
			ix.unindexValue(e, key, v)
		}
	}
	for key, nv := range next.Metadata {
		if v, ok := old.Metadata[key]; !ok || !sameScalar(v, nv) {
			ix.indexValue(e, key, nv)
		}
	}
	e.client = next
}

// Replace swaps in c as the record of the client with c's key, if that client's recipient is
// r: a node replicating its clients to the others updates only the entries it registered. It
// returns bus.ErrUnknownClient otherwise.
func (ix *Index) Replace(c *bus.Client, r bus.Recipient) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	e, ok := ix.entries[c.Key]
	if !ok || e.rcpt != r {
		return bus.ErrUnknownClient
	}
	ix.swap(e, c)
	return nil
}

// sameScalar reports whether a and b are indexed under the same key (or both not indexed).
func sameScalar(a, b any) bool {
	sa, okA := toScalar(a)
	sb, okB := toScalar(b)
	return okA == okB && sa == sb
}

// Get returns the registered client with key k.
func (ix *Index) Get(k bus.ClientKey) (Target, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	e, ok := ix.entries[k]
	if !ok {
		return Target{}, false
	}
	return Target{Client: e.client, Recipient: e.rcpt}, true
}

// Len returns the number of registered clients.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.entries)
}

func (ix *Index) indexValue(e *entry, key string, v any) {
	s, ok := toScalar(v)
	if !ok || unindexed[key] {
		return
	}
	for _, app := range [2]string{e.client.Key.App, anyApp} {
		k := eqKey{app: app, key: key, val: s}
		st := ix.eq[k]
		if st == nil {
			st = newSet()
			ix.eq[k] = st
		}
		st.add(e)
	}
}

func (ix *Index) unindexValue(e *entry, key string, v any) {
	s, ok := toScalar(v)
	if !ok || unindexed[key] {
		return
	}
	for _, app := range [2]string{e.client.Key.App, anyApp} {
		k := eqKey{app: app, key: key, val: s}
		if st := ix.eq[k]; st != nil {
			st.remove(e)
			if st.len() == 0 {
				delete(ix.eq, k)
			}
		}
	}
}

// Find returns every client q matches, in no particular order.
func (ix *Index) Find(q *bus.Query) []Target {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	c := ix.candidates(q)
	var out []Target
	for i := 0; i < c.n; i++ {
		if e := c.at(i); Match(q, e.client) {
			out = append(out, Target{Client: e.client, Recipient: e.rcpt})
		}
	}
	return out
}

// randomProbes is how many uniformly random candidates FindOne tries before it scans.
const randomProbes = 8

// FindOne returns one client q matches, chosen uniformly at random among all matches. It first
// probes a few random candidates (the first that matches is a uniform choice among the matches,
// at a cost independent of the candidate count when matches are common) and scans the
// candidates only when every probe misses.
func (ix *Index) FindOne(q *bus.Query) (Target, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	c := ix.candidates(q)
	if c.n == 0 {
		return Target{}, false
	}
	for range min(randomProbes, c.n) {
		if e := c.at(rand.IntN(c.n)); Match(q, e.client) {
			return Target{Client: e.client, Recipient: e.rcpt}, true
		}
	}
	var chosen *entry
	seen := 0
	for i := 0; i < c.n; i++ {
		if e := c.at(i); Match(q, e.client) {
			seen++
			if rand.IntN(seen) == 0 {
				chosen = e
			}
		}
	}
	if chosen == nil {
		return Target{}, false
	}
	return Target{Client: chosen.client, Recipient: chosen.rcpt}, true
}

// All returns every registered client, restricted ones included, in no particular order.
func (ix *Index) All() []Target {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := make([]Target, len(ix.all.items))
	for i, e := range ix.all.items {
		out[i] = Target{Client: e.client, Recipient: e.rcpt}
	}
	return out
}
