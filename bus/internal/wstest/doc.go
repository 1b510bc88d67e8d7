// Package wstest is a raw singyeong websocket client for the bus packages' tests: it encodes
// frames in any of the three encodings, decodes what the server sends, and waits for frames
// with a deadline instead of sleeping.
//
// It imports bus/wire and coder/websocket, and testing: only tests may import it.
package wstest
