package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/client/crush"
)

type watchCmd struct {
	g            *globals
	prefix       string
	fromRevision int64
	noValues     bool
	progress     bool
}

func newWatchCmd(g *globals) *cobra.Command {
	c := &watchCmd{g: g}
	cmd := &cobra.Command{
		Use:   "watch [KEY | --prefix PREFIX]",
		Short: "Print changes as they happen, in revision order, until interrupted",
		Long: `Print the changes of a key, or of every key under a prefix (every key of the fork by
default), as they are committed. With -o json each event is one JSON object on its own line.
The watch reconnects by itself, without losing or repeating an event, when the connection
breaks; it stops on Ctrl-C.`,
		Example: `  crush watch app/config
  crush watch --prefix app/ --from-revision 1
  crush watch -o json | jq -c 'select(.type == "delete")'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return c.run(cmd, args) },
	}
	f := cmd.Flags()
	f.StringVar(&c.prefix, "prefix", "", "watch every key starting with this prefix")
	f.Int64Var(&c.fromRevision, "from-revision", 0, "start at this store revision (default: after the current one)")
	f.BoolVar(&c.noValues, "no-values", false, "leave values out of the events")
	f.BoolVar(&c.progress, "progress", false, "also print the server's progress events")
	return cmd
}

func (c *watchCmd) run(cmd *cobra.Command, args []string) error {
	client, err := c.g.client()
	if err != nil {
		return err
	}
	opts := &crush.WatchOptions{Fork: c.g.fork, Prefix: c.prefix, FromRevision: c.fromRevision, NoValues: c.noValues}
	if len(args) == 1 {
		opts.Key = args[0]
	}
	out := cmd.OutOrStdout()
	enc := json.NewEncoder(out)
	if !c.g.json() {
		fmt.Fprintf(out, "%-9s %-7s %-10s %-24s %s\n", "REVISION", "TYPE", "FORK", "KEY@REV", "VALUE")
	}
	for ev, err := range client.Watch(cmd.Context(), opts) {
		if err != nil {
			return err
		}
		if ev.Type == "progress" && !c.progress {
			continue
		}
		if c.g.json() {
			err = enc.Encode(ev)
		} else {
			err = printEvent(out, ev)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func printEvent(w io.Writer, ev crush.Event) error {
	if ev.Type == "progress" {
		_, err := fmt.Fprintf(w, "%-9d %s\n", ev.Revision, "progress")
		return err
	}
	value := "-"
	switch {
	case ev.Purged:
		value = "(purged)"
	case ev.Deleted:
		value = "(deleted)"
	case ev.ValueCompacted:
		value = "(value compacted)"
	case ev.Value != nil:
		value = oneLine(ev.Value)
	}
	_, err := fmt.Fprintf(w, "%-9d %-7s %-10s %-24s %s\n", ev.Revision, ev.Type, ev.Fork, fmt.Sprintf("%s@%d", ev.Key, ev.Rev), value)
	return err
}
