package proxy

import (
	"fmt"
	"strings"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/query"
	"github.com/mahou-go/mahou/bus/wire"
)

// Request is a parsed proxy request.
type Request struct {
	// Method is upper-cased.
	Method string
	Route  string
	Query  *bus.Query
	// Body is what is sent: a string as is, anything else as JSON; empty for none.
	Body []byte
	// Headers are sent as given, plus X-Forwarded-For.
	Headers map[string]string
}

// Methods the original knows, and the ones among them it refuses to proxy.
var (
	validMethods       = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
	unsupportedMethods = []string{"CONNECT", "OPTIONS", "TRACE"}
	methodsWithBody    = []string{"POST", "PATCH", "PUT", "DELETE"}
)

// FieldErrors is the original's validation answer for missing fields: field → messages, sent
// as the body of a 400 as is.
type FieldErrors map[string][]string

func (e FieldErrors) Error() string {
	var parts []string
	for _, f := range []string{"method", "route", "query"} {
		if msgs, ok := e[f]; ok {
			parts = append(parts, f+": "+strings.Join(msgs, ", "))
		}
	}
	return "invalid proxy request: " + strings.Join(parts, "; ")
}

// RuleError is the original's answer for a request that breaks a method rule or matches
// nobody: a 400 with {"errors": [Msg]}.
type RuleError struct{ Msg string }

func (e *RuleError) Error() string { return e.Msg }

// ParseRequest parses and checks a proxy request body. It returns FieldErrors when method,
// route or query is missing, a *RuleError when a method rule is broken, and errors wrapping
// ErrInvalidJSON, ErrInvalidRequest or bus.ErrInvalidQuery otherwise.
func ParseRequest(body []byte, maxDepth int) (Request, error) {
	v, err := wire.Decode(wire.JSON, body, wire.Limits{MaxDepth: maxDepth})
	if err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return Request{}, fmt.Errorf("%w: the body must be an object {\"method\", \"route\", \"query\", \"body\", \"headers\"}", ErrInvalidJSON)
	}
	missing := FieldErrors{}
	for _, f := range []string{"method", "route", "query"} {
		if x, ok := m[f]; !ok || x == nil {
			missing[f] = []string{"no " + f + " provided"}
		}
	}
	if len(missing) > 0 {
		return Request{}, missing
	}
	r := Request{}
	if r.Method, err = checkMethod(m["method"], m["body"]); err != nil {
		return Request{}, err
	}
	route, ok := m["route"].(string)
	if !ok {
		return Request{}, fmt.Errorf("%w: route: must be a string", ErrInvalidRequest)
	}
	r.Route = route
	if r.Query, err = query.Parse(m["query"]); err != nil {
		return Request{}, err
	}
	if r.Body, err = encodeBody(m["body"]); err != nil {
		return Request{}, err
	}
	r.Headers, err = headers(m["headers"])
	return r, err
}

// checkMethod applies the original's method rules, in its order.
func checkMethod(raw, body any) (string, error) {
	s, _ := raw.(string)
	method := strings.ToUpper(s)
	if !contains(validMethods, method) {
		shown := s
		if _, isString := raw.(string); !isString {
			b, _ := wire.AppendJSON(nil, raw)
			shown = string(b)
		}
		return "", &RuleError{Msg: fmt.Sprintf("%s is not a valid method! (valid methods: %s)", shown, inspect(validMethods))}
	}
	if contains(unsupportedMethods, method) {
		return "", &RuleError{Msg: fmt.Sprintf("%s is not a supported method! (unsupported methods: %s)", method, inspect(unsupportedMethods))}
	}
	empty := body == nil || body == ""
	if !contains(methodsWithBody, method) && !empty {
		return "", &RuleError{Msg: "no body required but one given (you probably wanted to send nil)"}
	}
	return method, nil
}

// inspect renders a list of strings as Elixir's inspect does: ["GET", "HEAD"].
func inspect(list []string) string {
	quoted := make([]string, len(list))
	for i, s := range list {
		quoted[i] = `"` + s + `"`
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// encodeBody is what goes upstream: null or absent is empty, a string is sent raw, anything
// else (a map, a list, a number) as JSON.
func encodeBody(v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(x), nil
	}
	b, err := wire.AppendJSON(nil, v)
	if err != nil {
		return nil, fmt.Errorf("%w: body: %v", ErrInvalidRequest, err)
	}
	return b, nil
}

func headers(v any) (map[string]string, error) {
	out := map[string]string{}
	if v == nil {
		return out, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: headers: must be an object of header names to strings", ErrInvalidRequest)
	}
	for k, x := range m {
		s, ok := x.(string)
		if !ok || !validHeader(k, s) {
			return nil, fmt.Errorf("%w: headers: %q must be a valid header name with a string value", ErrInvalidRequest, k)
		}
		out[k] = s
	}
	return out, nil
}

// validHeader reports whether name is an HTTP token and value holds no line breaks.
func validHeader(name, value string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return !strings.ContainsAny(value, "\r\n\x00")
}
