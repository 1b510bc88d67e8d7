package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/query"
	"github.com/mahou-go/mahou/bus/wire"
)

// Defaults of Config.
const (
	DefaultTimeout          = 30 * time.Second
	DefaultMaxBodyBytes     = 1 << 20
	DefaultMaxResponseBytes = 10 << 20
	// maxRedirects is what the original's HTTP client follows, and net/http's default.
	maxRedirects = 10
)

// Config configures a Proxy. Build it with DefaultConfig and change fields.
type Config struct {
	// Timeout bounds one proxied request, redirects and reading the answer included.
	Timeout time.Duration
	// MaxBodyBytes bounds the proxy request's own body (413 beyond).
	MaxBodyBytes int64
	// MaxResponseBytes bounds the target's answer (502 response_too_large beyond).
	MaxResponseBytes int64
	// MaxDepth bounds the nesting of the request body.
	MaxDepth int
	// Transport makes the upstream requests; nil uses a clone of http.DefaultTransport.
	Transport http.RoundTripper
}

// DefaultConfig returns a Config with every field at its default.
func DefaultConfig() Config {
	return Config{Timeout: DefaultTimeout, MaxBodyBytes: DefaultMaxBodyBytes,
		MaxResponseBytes: DefaultMaxResponseBytes, MaxDepth: wire.DefaultMaxDepth}
}

// Validate reports every broken rule of c at once.
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int64
	}{{"timeout", int64(c.Timeout)}, {"max body bytes", c.MaxBodyBytes},
		{"max response bytes", c.MaxResponseBytes}, {"max depth", int64(c.MaxDepth)}} {
		if f.v <= 0 {
			errs = append(errs, fmt.Errorf("%w: %s: must be positive, got %d", ErrConfig, f.name, f.v))
		}
	}
	return errors.Join(errs...)
}

// Proxy serves POST /api/v1/proxy. It holds no goroutines; Close drops its idle upstream
// connections.
type Proxy struct {
	cfg     Config
	clients query.Finder
	http    *http.Client
	log     *slog.Logger
}

// New validates cfg and builds a proxy that picks targets among clients.
func New(cfg Config, clients query.Finder, log *slog.Logger) (*Proxy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	transport := cfg.Transport
	if transport == nil {
		transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	hc := &http.Client{Transport: transport, Timeout: cfg.Timeout,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			return nil
		}}
	return &Proxy{cfg: cfg, clients: clients, http: hc, log: log}, nil
}

// Register serves the proxy at POST /api/v1/proxy on srv, behind the gateway's auth.
func Register(srv *gateway.Server, p *Proxy) error {
	return srv.HandleHTTP("POST /api/v1/proxy", p)
}

// Close drops idle upstream connections; it is idempotent.
func (p *Proxy) Close(context.Context) error {
	p.http.CloseIdleConnections()
	return nil
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, p.cfg.MaxBodyBytes+1))
	if err == nil && int64(len(body)) > p.cfg.MaxBodyBytes {
		err = fmt.Errorf("%w: the body must be at most %d bytes", ErrBodyTooLarge, p.cfg.MaxBodyBytes)
	}
	var req Request
	if err == nil {
		req, err = ParseRequest(body, p.cfg.MaxDepth)
	}
	var target string
	if err == nil {
		target, err = p.target(req)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	p.forward(w, r, req, target)
}

// target picks the client the request goes to and returns its URL: a match chosen at random
// among the clients with an address (restricted clients have none), or the one a selector or a
// key picks; optional applies as for SEND.
func (p *Proxy) target(req Request) (string, error) {
	mode := query.All
	if req.Query.HasKey && req.Query.Selector == nil {
		mode = query.One
	}
	var bases []string
	for _, t := range query.Route(p.clients, req.Query, mode) {
		if ip, ok := t.Client.Metadata[bus.KeyIP].(string); ok && ip != "" {
			bases = append(bases, ip)
		}
	}
	if len(bases) == 0 {
		return "", ErrNoMatch
	}
	return joinURL(bases[rand.IntN(len(bases))], req.Route), nil
}

// joinURL is the original's "<ip>/<route>", with http:// unless the ip has a scheme, and with
// one slash between them (the original doubled it when the route began with one).
func joinURL(ip, route string) string {
	if !strings.HasPrefix(ip, "http://") && !strings.HasPrefix(ip, "https://") {
		ip = "http://" + ip
	}
	return strings.TrimRight(ip, "/") + "/" + strings.TrimLeft(route, "/")
}

// forward makes the upstream request and copies its answer.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, req Request, target string) {
	up, err := http.NewRequestWithContext(r.Context(), req.Method, target, bytes.NewReader(req.Body))
	if err != nil {
		writeError(w, fmt.Errorf("%w: the target's address makes no URL: %v", ErrUnreachable, err))
		return
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, "Host") {
			up.Host = v
			continue
		}
		up.Header.Set(k, v)
	}
	up.Header.Set("X-Forwarded-For", callerIP(r.RemoteAddr))
	resp, err := p.http.Do(up)
	if err != nil {
		p.log.Info("proxy: target failed", "url", target, "error", err)
		writeError(w, upstreamError(target, err))
		return
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, p.cfg.MaxResponseBytes+1))
	switch {
	case err != nil:
		writeError(w, upstreamError(target, err))
		return
	case int64(len(answer)) > p.cfg.MaxResponseBytes:
		writeError(w, fmt.Errorf("%w: %s answered more than %d bytes", ErrResponseTooLarge, target, p.cfg.MaxResponseBytes))
		return
	}
	copyHeaders(w.Header(), resp.Header)
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

// hopByHop are the headers of one connection, never copied from the upstream's answer.
var hopByHop = map[string]bool{"connection": true, "keep-alive": true, "proxy-authenticate": true,
	"proxy-authorization": true, "te": true, "trailer": true, "transfer-encoding": true, "upgrade": true,
	"content-length": true}

// copyHeaders copies the upstream's headers with lower-cased names, as the original does.
func copyHeaders(dst, src http.Header) {
	for k, vs := range src {
		lk := strings.ToLower(k)
		if hopByHop[lk] {
			continue
		}
		dst[lk] = append(dst[lk], vs...)
	}
}

func callerIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}

// upstreamError says why the target did not answer.
func upstreamError(target string, err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%w: %s did not answer in time (%v)", ErrTimeout, target, err)
	}
	return fmt.Errorf("%w: %s (%v); the client's ip metadata must be an address it serves HTTP on", ErrUnreachable, target, err)
}

// ErrorHeader marks the proxy's own error answers, so a client can tell them from a target's
// answer with the same status; its value is the error code.
const ErrorHeader = "X-Singyeong-Proxy-Error"

// writeError is the one table of the proxy's errors. The original's own answers keep their
// shapes: {"method": ["no method provided"]} and {"errors": ["..."]}; the others carry
// {"errors": [message]} too, for clients of the original, plus the house's error and message.
func writeError(w http.ResponseWriter, err error) {
	var fields FieldErrors
	var rule *RuleError
	status, code := http.StatusInternalServerError, "internal"
	switch {
	case errors.As(err, &fields):
		out := make(map[string]any, len(fields))
		for k, msgs := range fields {
			out[k] = toAny(msgs)
		}
		w.Header().Set(ErrorHeader, "missing_field")
		writeJSON(w, http.StatusBadRequest, out)
		return
	case errors.As(err, &rule):
		w.Header().Set(ErrorHeader, "invalid_method")
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []any{rule.Msg}})
		return
	case errors.Is(err, ErrNoMatch):
		w.Header().Set(ErrorHeader, "no_matches")
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []any{"no matches"}})
		return
	case errors.Is(err, ErrInvalidJSON):
		status, code = http.StatusBadRequest, "invalid_json"
	case errors.Is(err, ErrBodyTooLarge):
		status, code = http.StatusRequestEntityTooLarge, "body_too_large"
	case errors.Is(err, bus.ErrInvalidQuery):
		status, code = http.StatusBadRequest, "invalid_query"
	case errors.Is(err, ErrInvalidRequest):
		status, code = http.StatusBadRequest, "invalid_request"
	case errors.Is(err, ErrTimeout):
		status, code = http.StatusGatewayTimeout, "target_timeout"
	case errors.Is(err, ErrResponseTooLarge):
		status, code = http.StatusBadGateway, "response_too_large"
	case errors.Is(err, ErrUnreachable):
		status, code = http.StatusBadGateway, "target_unreachable"
	}
	msg := err.Error()
	w.Header().Set(ErrorHeader, code)
	writeJSON(w, status, map[string]any{"error": code, "message": msg, "errors": []any{msg}})
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := wire.AppendJSON(nil, v) // the values above always encode
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

var _ http.Handler = (*Proxy)(nil)
