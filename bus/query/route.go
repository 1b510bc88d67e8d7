package query

import (
	"math"

	"github.com/mahou-go/mahou/bus"
)

// Finder finds the clients a query matches. Index is the local Finder; a cluster can provide
// one that merges the match sets of every node, so that Route's rules apply cluster-wide.
type Finder interface {
	// Find returns every client q matches.
	Find(q *bus.Query) []Target
	// FindOne returns one client q matches, chosen uniformly at random.
	FindOne(q *bus.Query) (Target, bool)
	// Get returns the connected client with key k, or false when it is not connected.
	Get(k bus.ClientKey) (Target, bool)
}

var _ Finder = (*Index)(nil)

// Mode says how many clients a routed message is for.
type Mode int

// The routing modes.
const (
	// One is SEND: a single receiver.
	One Mode = iota
	// All is BROADCAST: every match.
	All
)

// Route returns the clients a message whose target is q goes to. An empty result means no
// route. The rules, in order:
//   - if q matches nobody and q.Optional, q is retried without its ops and selector;
//   - a selector reduces the whole match set to one client, for SEND and BROADCAST alike;
//   - SEND with a key picks the client by rendezvous (highest random weight) hashing of the key
//     over the match set: the same key reaches the same client while that client matches, and
//     a change in the match set moves only the keys of the clients that came or went;
//   - SEND without a key picks one match uniformly at random; BROADCAST returns every match.
func Route(f Finder, q *bus.Query, mode Mode) []Target {
	targets := route(f, q, mode)
	if len(targets) == 0 && q.Optional {
		targets = route(f, q.Relaxed(), mode)
	}
	return targets
}

func route(f Finder, q *bus.Query, mode Mode) []Target {
	if mode == One && q.Selector == nil && !q.HasKey {
		if t, ok := f.FindOne(q); ok {
			return []Target{t}
		}
		return nil
	}
	matches := f.Find(q)
	if len(matches) == 0 {
		return nil
	}
	if q.Selector != nil {
		if t, ok := Select(matches, q.Selector); ok {
			return []Target{t}
		}
		return nil
	}
	if mode == All {
		return matches
	}
	return []Target{Rendezvous(matches, q.Key)}
}

// Select reduces matches to one client by the selector. $min and $max order the clients'
// values at the selector's top-level key like Erlang terms, a missing key counting as null
// (greater than every number), as in the original. $avg picks the client whose numeric value
// is closest to the mean of the numeric values; clients without a numeric value are not
// candidates. Ties go to the smallest (application, client id). ok is false when nothing can
// be selected.
func Select(matches []Target, sel *bus.Selector) (Target, bool) {
	if sel.Kind == bus.SelectAvg {
		return selectAvg(matches, sel.Key)
	}
	best := -1
	var bestV any
	for i, t := range matches {
		v := t.Client.Metadata[sel.Key]
		if best < 0 {
			best, bestV = i, v
			continue
		}
		c := Compare(v, bestV)
		if sel.Kind == bus.SelectMax {
			c = -c
		}
		if c < 0 || (c == 0 && keyLess(t.Client.Key, matches[best].Client.Key)) {
			best, bestV = i, v
		}
	}
	if best < 0 {
		return Target{}, false
	}
	return matches[best], true
}

func selectAvg(matches []Target, key string) (Target, bool) {
	var sum float64
	n := 0
	for _, t := range matches {
		if f, ok := number(t.Client.Metadata[key]); ok {
			sum += f
			n++
		}
	}
	if n == 0 {
		return Target{}, false
	}
	mean := sum / float64(n)
	best, bestD := -1, math.Inf(1)
	for i, t := range matches {
		f, ok := number(t.Client.Metadata[key])
		if !ok {
			continue
		}
		d := math.Abs(f - mean)
		if best < 0 || d < bestD || (d == bestD && keyLess(t.Client.Key, matches[best].Client.Key)) {
			best, bestD = i, d
		}
	}
	return matches[best], true
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, !math.IsNaN(x)
	}
	return 0, false
}

func keyLess(a, b bus.ClientKey) bool {
	if a.App != b.App {
		return a.App < b.App
	}
	return a.ID < b.ID
}

// Rendezvous picks the match with the highest hash of (key, application, client id). matches
// must not be empty. The choice does not depend on the order of matches.
func Rendezvous(matches []Target, key string) Target {
	best := 0
	var bestScore uint64
	for i, t := range matches {
		s := score(key, t.Client.Key)
		if i == 0 || s > bestScore || (s == bestScore && keyLess(t.Client.Key, matches[best].Client.Key)) {
			best, bestScore = i, s
		}
	}
	return matches[best]
}

// score is 64-bit FNV-1a over key, app and id separated by zero bytes, finished with a
// splitmix64 round so that nearby inputs spread over the whole range.
func score(key string, k bus.ClientKey) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for _, s := range [3]string{key, k.App, k.ID} {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime
		}
		h *= prime // the zero separator
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ (h >> 31)
}
