// Package crush is a Go client for crush's HTTP API: every v2 route (reads at a rev, a revision
// or a time, compare-and-set writes, history, diff, revert, fork, merge, transactions, watch,
// key listing, compaction, retention, status) and the v1 routes of the original crush. The
// crush CLI uses it exactly as any other program would.
//
// This package imports no server package (nothing under kv/, bus/ or cmd/): it speaks HTTP
// and JSON only, and defines its own types. Values are []byte; the wire carries them in base64.
//
// # Endpoints and retries
//
// A Client is given one or more endpoints ("http://host:port", or "host:port" for plain HTTP).
// It sends each request to the endpoint that last answered and moves on to the next one when
// that is safe:
//
//   - Reads (GET) are retried on the next endpoint after any connection error, and after a
//     503 whose code is "not_leader" or "unavailable". When every endpoint answered such a 503,
//     the client waits for the Retry-After the server sent (at most WithRetryWait, 1s by default)
//     and goes round the endpoints once more.
//   - Writes (PUT, POST, DELETE) are retried on the next endpoint only when the connection could
//     not be opened (for example connection refused), because only then did the request
//     provably not reach a server. Any other failure of a write is returned as is: the write may
//     or may not have been applied, so read before retrying it yourself.
//
// Every call is bounded by the client's timeout (WithTimeout, 30s by default) and by its
// context; a watch is bounded by its context only.
//
// # Errors
//
// An answer with an error status is returned as an *Error carrying the status, the stable
// code, the message and the extra fields of the body. Match kinds with errors.Is and the
// sentinels (ErrNotFound, ErrPreconditionFailed, ErrConflict...), and read details with
// errors.As:
//
//	_, err := c.Put(ctx, "app/config", v, &crush.PutOptions{If: crush.IfMatch(3)})
//	var e *crush.Error
//	if errors.Is(err, crush.ErrPreconditionFailed) && errors.As(err, &e) && e.CurrentRev != nil {
//		// someone else wrote rev *e.CurrentRev first
//	}
package crush
