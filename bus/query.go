package bus

// AppFilter says how a query filters on the application id.
type AppFilter int

// The application filters.
const (
	// AppAny matches every application: the query's application is null or absent.
	AppAny AppFilter = iota
	// AppExact matches the one application named by Query.Application.
	AppExact
	// AppNone matches nothing: the application is not a string, e.g. a legacy array of tags.
	AppNone
)

// Operator is a query operator.
type Operator string

// Comparison operators compare the value at a path with an operand.
const (
	OpEq        Operator = "$eq"
	OpNe        Operator = "$ne"
	OpGt        Operator = "$gt"
	OpGte       Operator = "$gte"
	OpLt        Operator = "$lt"
	OpLte       Operator = "$lte"
	OpIn        Operator = "$in"
	OpNin       Operator = "$nin"
	OpContains  Operator = "$contains"
	OpNContains Operator = "$ncontains"
)

// Logical operators combine other ops.
const (
	OpAnd Operator = "$and"
	OpOr  Operator = "$or"
	OpNor Operator = "$nor"
)

// IsLogical reports whether o combines other ops.
func (o Operator) IsLogical() bool { return o == OpAnd || o == OpOr || o == OpNor }

// IsComparison reports whether o compares a path with an operand.
func (o Operator) IsComparison() bool {
	switch o {
	case OpEq, OpNe, OpGt, OpGte, OpLt, OpLte, OpIn, OpNin, OpContains, OpNContains:
		return true
	}
	return false
}

// Op is one node of a query: a comparison (Path, Op, and an operand: Value, or the value at
// ToPath falling back to ToDefault) or a logical combination (Op and With).
type Op struct {
	Op Operator
	// Path is the split path of a comparison: "/a/0/b" is ["a", "0", "b"].
	Path []string
	// Value is the operand when the comparison has {"to": {"value": V}}.
	Value any
	// ToPath is the operand's path when the comparison has {"to": {"path": P, "default": D}};
	// nil otherwise.
	ToPath []string
	// ToDefault is used when the client has nothing at ToPath.
	ToDefault any
	// With holds the ops a logical op combines.
	With []Op
}

// SelectorKind names a selector.
type SelectorKind string

// The selectors.
const (
	SelectMin SelectorKind = "$min"
	SelectMax SelectorKind = "$max"
	SelectAvg SelectorKind = "$avg"
)

// Selector reduces a match set to one client by a top-level metadata key.
type Selector struct {
	Kind SelectorKind
	Key  string
}

// Query is a parsed target query. The zero Query matches every non-restricted client of every
// application.
type Query struct {
	AppFilter   AppFilter
	Application string
	// Restricted includes restricted clients in the match set.
	Restricted bool
	// Droppable drops a SEND or BROADCAST that matches nobody instead of answering no_route.
	Droppable bool
	// Optional retries a query that matches nobody without its ops and selector.
	Optional bool
	// Key, when HasKey, picks a SEND's receiver by consistent hashing over the match set.
	Key    string
	HasKey bool
	// Ops must all hold.
	Ops []Op
	// Selector, when not nil, reduces the match set to one client.
	Selector *Selector
}

// Relaxed returns the query an optional query falls back to: the same application and
// restricted flag, with no ops and no selector.
func (q *Query) Relaxed() *Query {
	r := *q
	r.Ops = nil
	r.Selector = nil
	r.Optional = false
	return &r
}
