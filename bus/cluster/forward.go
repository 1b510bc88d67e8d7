package cluster

import (
	"context"
	"net/http"
	"net/http/httputil"
	"net/url"

	"github.com/mahou-go/mahou/bus/wire"
)

// forwardedHeader marks a request one node passed to another, so that it is passed on once at
// most.
const forwardedHeader = "X-Singyeong-Forwarded-By"

// Forward returns a handler that passes requests to the API of the node target names (the
// queue group's leader, say), as a reverse proxy: the caller's Authorization goes along, and
// the answer comes back as it is. It answers 503 {"error":"unavailable"} when target names
// no node with a known address, and when the request was forwarded already (the nodes
// disagree on who leads, as during an election).
func (c *Cluster) Forward(target func() string) http.Handler {
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			u, _ := r.In.Context().Value(forwardKey{}).(*url.URL)
			r.SetURL(u)
			r.Out.Header.Set(forwardedHeader, c.cfg.NodeID)
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			unavailable(w, "the leader did not answer: "+err.Error())
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(forwardedHeader) != "" {
			unavailable(w, "the nodes disagree on who leads (an election?): retry")
			return
		}
		m, ok := c.Member(target())
		if !ok || m.APIAddr == "" || m.Self {
			unavailable(w, "no queue leader is known (an election?): retry")
			return
		}
		u := &url.URL{Scheme: "http", Host: m.APIAddr}
		proxy.ServeHTTP(w, r.WithContext(contextWith(r, u)))
	})
}

type forwardKey struct{}

func contextWith(r *http.Request, u *url.URL) context.Context {
	return context.WithValue(r.Context(), forwardKey{}, u)
}

func unavailable(w http.ResponseWriter, msg string) {
	b, _ := wire.AppendJSON(nil, map[string]any{"error": "unavailable", "message": msg})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write(b)
}
