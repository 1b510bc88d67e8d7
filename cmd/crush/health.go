package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/client/crush"
)

// endpointHealth is the health of one endpoint, as `crush health -o json` prints it.
type endpointHealth struct {
	Endpoint string `json:"endpoint"`
	Healthy  bool   `json:"healthy"`
	Ready    bool   `json:"ready"`
	Error    string `json:"error,omitempty"`
}

func newHealthCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "health",
		Short: "Check every endpoint: serving (/healthz) and ready for linearizable reads (/readyz)",
		Long: `Check each endpoint on its own: healthy when it serves HTTP, ready when it can serve
linearizable reads now. The command fails when any endpoint is not ready.`,
		Example: `  crush health --endpoints http://10.0.0.1:7654,http://10.0.0.2:7654`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, err := g.client()
			if err != nil {
				return err
			}
			var out []endpointHealth
			bad := 0
			for _, ep := range all.Endpoints() {
				h := checkEndpoint(cmd, g, ep)
				if !h.Ready {
					bad++
				}
				out = append(out, h)
			}
			if g.json() {
				err = printJSON(cmd.OutOrStdout(), out)
			} else {
				t := newTable(cmd.OutOrStdout(), "ENDPOINT", "HEALTHY", "READY", "ERROR")
				for _, h := range out {
					t.row(h.Endpoint, fmt.Sprint(h.Healthy), fmt.Sprint(h.Ready), h.Error)
				}
				err = t.flush()
			}
			if err == nil && bad > 0 {
				err = fmt.Errorf("%d of %d endpoints are not ready", bad, len(out))
			}
			return err
		},
	}
}

// checkEndpoint asks one endpoint alone, so that the client does not move on to another.
func checkEndpoint(cmd *cobra.Command, g *globals, endpoint string) endpointHealth {
	h := endpointHealth{Endpoint: endpoint}
	c, err := crush.New([]string{endpoint}, crush.WithTimeout(g.timeout), crush.WithRetryWait(0))
	if err == nil {
		err = c.Health(cmd.Context())
	}
	if err != nil {
		h.Error = err.Error()
		return h
	}
	h.Healthy = true
	if err := c.Ready(cmd.Context()); err != nil {
		h.Error = err.Error()
		return h
	}
	h.Ready = true
	return h
}
