// Package proxy is singyeong's HTTP proxy, POST /api/v1/proxy: a caller names a target query
// instead of a host, the proxy picks one matching client and makes the HTTP request to the
// address that client identified with (its "ip" metadata), and answers with the upstream's
// status, headers and body.
//
// Compatible with the original (queer/singyeong proxy_controller.ex and proxy.ex): the same
// request shape {"method", "route", "query", "body", "headers"}, validation messages, method
// rules, target choice, X-Forwarded-For, and passthrough of the answer. Added: a timeout, limits
// on both bodies, and errors that say what happened when the target is down.
//
// This package imports bus, bus/query, bus/wire and bus/gateway (to register its route). It
// must not import kv/, client/ or cmd/.
package proxy
