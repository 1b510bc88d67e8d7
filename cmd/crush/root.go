package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/client/crush"
)

// envEndpoints lists the endpoints when --endpoints is not given.
const envEndpoints = "CRUSH_ENDPOINTS"

// globals are the flags every client command shares.
type globals struct {
	endpoints string
	output    string
	fork      string
	timeout   time.Duration
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "crush",
		Short: "crush: a time-traveling, replicated key-value store",
		Long: `crush: a time-traveling, replicated key-value store.

crush serve runs a node; every other command is a client of a node's HTTP API. Client commands
print tables for people, or the API's JSON with -o json. See docs/cli-crush.md.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.endpoints, "endpoints", "", "comma-separated endpoints of client commands (env "+envEndpoints+", default "+crush.DefaultEndpoint+")")
	pf.StringVarP(&g.output, "output", "o", "table", "client output: table or json")
	pf.StringVar(&g.fork, "fork", "", `fork of client commands (default "default")`)
	pf.DurationVar(&g.timeout, "timeout", crush.DefaultTimeout, "bound of each client request, retries included (0: none)")
	root.AddCommand(newServeCmd(),
		newGetCmd(g), newPutCmd(g), newDeleteCmd(g), newHistoryCmd(g), newDiffCmd(g), newRevertCmd(g),
		newForkCmd(g), newForksCmd(g), newMergeCmd(g), newWatchCmd(g), newKeysCmd(g), newTxnCmd(g),
		newStatusCmd(g), newCompactCmd(g), newRetentionCmd(g), newHealthCmd(g), newMemberCmd(g), newSnapshotCmd(g))
	return root
}

// client checks the global flags and builds the client they describe.
func (g *globals) client() (*crush.Client, error) {
	if g.output != "table" && g.output != "json" {
		return nil, fmt.Errorf("--output %q: use table or json", g.output)
	}
	list := g.endpoints
	if list == "" {
		list = os.Getenv(envEndpoints)
	}
	if list == "" {
		list = crush.DefaultEndpoint
	}
	c, err := crush.New(strings.Split(list, ","), crush.WithTimeout(g.timeout))
	if err != nil {
		return nil, fmt.Errorf("--endpoints: %w", err)
	}
	return c, nil
}

// json reports whether the output is JSON.
func (g *globals) json() bool { return g.output == "json" }

// forkName is the --fork flag, or "default".
func (g *globals) forkName() string {
	if g.fork == "" {
		return "default"
	}
	return g.fork
}
