// Package query parses, evaluates and indexes singyeong target queries.
//
// Parse turns the wire form of a query (the generic value a frame decoder produced) into a
// bus.Query, accepting the v2 grammar ({path, op, to} and {op, with}) and translating legacy
// v1 ops ({"key": {"$op": value}}). Match evaluates a query against one client. Index keeps the
// connected clients and answers which of them a query targets without scanning every client:
// it narrows the candidates with per-application sets and per-(key, value) equality sets, then
// evaluates the full query on the narrowed set only. Route applies the delivery rules on top
// (optional fallback, selectors, consistent hashing by key, uniform random choice).
//
// Values are ordered like Erlang terms, as the original server compares them: numbers (by
// value, across integers and floats) < atoms (false < nil < true) < maps < lists < strings
// (bytewise).
//
// This package is pure: it does no I/O and starts no goroutines. It imports bus and the
// standard library only; it must not import bus/gateway, any encoding, or anything under kv/.
package query
