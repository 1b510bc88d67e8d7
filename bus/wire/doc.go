// Package wire holds the three encodings of singyeong frames (json, msgpack and etf) and the
// frame envelope {op, d, t, ts}.
//
// Decode turns one websocket message into the bus value model (nil, bool, int64, float64,
// string, []any, map[string]any), keeping integers and floats apart in every encoding: a JSON
// number is an integer unless it has a fraction or an exponent, msgpack keeps its own types,
// and etf is decoded by bus/etf. Errors carry the texts the original server sends in its op 8
// (Jason's "unexpected byte at position N: 0xXX (\"c\")" for JSON, Msgpax's messages for
// msgpack). Nesting depth and size are bounded by Limits.
//
// Encode writes a value of the bus model, plus etf.Atom and etf.Struct (rendered as strings
// and string-keyed maps in json and msgpack), in an encoding. JSON floats always carry a
// fraction or an exponent (1.0, not 1) so that a float stays a float across a round trip.
//
// This package imports bus/etf, github.com/vmihailenco/msgpack/v5 and the standard library; it
// must not import bus/gateway or anything that does I/O.
package wire
