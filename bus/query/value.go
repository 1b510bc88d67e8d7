package query

import (
	"math"
	"sort"
	"strings"
)

// rank orders the kinds of values like Erlang's term order.
func rank(v any) int {
	switch v.(type) {
	case int64, float64:
		return 0
	case nil, bool:
		return 1
	case map[string]any:
		return 2
	case []any:
		return 3
	case string:
		return 4
	}
	return 5
}

// atomRank orders the atoms false < nil < true, alphabetically as Erlang does.
func atomRank(v any) int {
	switch v {
	case false:
		return 0
	case nil:
		return 1
	}
	return 2
}

// Compare orders a and b like Erlang terms and returns -1, 0 or +1. Integers and floats compare
// by value, so Compare(int64(1), 1.0) is 0.
func Compare(a, b any) int {
	ra, rb := rank(a), rank(b)
	if ra != rb {
		return cmpInt(ra, rb)
	}
	switch x := a.(type) {
	case int64, float64:
		return compareNumbers(a, b)
	case nil, bool:
		return cmpInt(atomRank(a), atomRank(b))
	case string:
		return strings.Compare(x, b.(string))
	case []any:
		return compareLists(x, b.([]any))
	case map[string]any:
		return compareMaps(x, b.(map[string]any))
	}
	return 0
}

// Equal reports whether a and b are equal under Erlang's ==: deep, with 1 == 1.0.
func Equal(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case int64:
		if y, ok := b.(int64); ok {
			return x == y
		}
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	}
	return Compare(a, b) == 0 && rank(a) == rank(b)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compareNumbers(a, b any) int {
	ai, aInt := a.(int64)
	bi, bInt := b.(int64)
	if aInt && bInt {
		return cmpInt64(ai, bi)
	}
	af, bf := toFloat(a), toFloat(b)
	switch {
	case af < bf:
		return -1
	case af > bf:
		return 1
	case af == bf:
		return 0
	}
	// NaN (only reachable from msgpack or etf input) sorts after every other number.
	return cmpInt(boolInt(math.IsNaN(af)), boolInt(math.IsNaN(bf)))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return math.NaN()
}

func compareLists(a, b []any) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return cmpInt(len(a), len(b))
}

// compareMaps orders maps by size, then by their sorted keys, then by the values in key order.
func compareMaps(a, b map[string]any) int {
	if c := cmpInt(len(a), len(b)); c != 0 {
		return c
	}
	ka, kb := sortedKeys(a), sortedKeys(b)
	for i := range ka {
		if c := strings.Compare(ka[i], kb[i]); c != 0 {
			return c
		}
	}
	for _, k := range ka {
		if c := Compare(a[k], b[k]); c != 0 {
			return c
		}
	}
	return 0
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
