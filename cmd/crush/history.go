package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/client/crush"
)

type historyCmd struct {
	g            *globals
	limit        int
	beforeRev    uint64
	all          bool
	serializable bool
}

func newHistoryCmd(g *globals) *cobra.Command {
	c := &historyCmd{g: g}
	cmd := &cobra.Command{
		Use:   "history KEY",
		Short: "List a key's revs, newest first",
		Example: `  crush history app/config
  crush history app/config --limit 10 --before-rev 40
  crush history app/config --all -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return c.run(cmd, args[0]) },
	}
	f := cmd.Flags()
	f.IntVar(&c.limit, "limit", 0, "revs per page (default: the server's, 100)")
	f.Uint64Var(&c.beforeRev, "before-rev", 0, "start below this rev (the previous page's next)")
	f.BoolVar(&c.all, "all", false, "read every page")
	f.BoolVar(&c.serializable, "serializable", false, "read the answering node's state without a leader round trip")
	return cmd
}

func (c *historyCmd) run(cmd *cobra.Command, key string) error {
	client, err := c.g.client()
	if err != nil {
		return err
	}
	opts := &crush.HistoryOptions{Fork: c.g.fork, Limit: c.limit, BeforeRev: c.beforeRev, Serializable: c.serializable}
	var page crush.HistoryPage
	if c.all {
		page = crush.HistoryPage{Key: key, Fork: c.g.forkName(), History: []crush.HistoryEntry{}}
		for e, err := range client.HistoryAll(cmd.Context(), key, opts) {
			if err != nil {
				return err
			}
			page.History = append(page.History, e)
		}
	} else if page, err = client.History(cmd.Context(), key, opts); err != nil {
		return err
	}
	if c.g.json() {
		return printJSON(cmd.OutOrStdout(), page)
	}
	return printHistory(cmd.OutOrStdout(), cmd.ErrOrStderr(), page)
}

func printHistory(w, notes io.Writer, page crush.HistoryPage) error {
	t := newTable(w, "REV", "REVISION", "OP", "TIME", "SIZE", "ANCESTORS")
	for _, e := range page.History {
		t.row(u64(e.Rev), i64(e.Revision), e.Op, showTime(e.Time), strconv.Itoa(e.Size), showAncestors(e.Ancestors))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if page.Next != nil {
		fmt.Fprintf(notes, "more revs: add --before-rev %d, or --all\n", *page.Next)
	}
	return nil
}
