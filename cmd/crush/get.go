package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/client/crush"
)

type getCmd struct {
	g            *globals
	rev          uint64
	revision     int64
	asOf         string
	serializable bool
	raw          bool
}

func newGetCmd(g *globals) *cobra.Command {
	c := &getCmd{g: g}
	cmd := &cobra.Command{
		Use:   "get KEY",
		Short: "Read a key, now or at a past rev, revision or time",
		Example: `  crush get app/config
  crush get app/config --rev 2
  crush get app/config --as-of 2026-01-02T15:04:05Z -o json
  crush get app/logo.png --raw > logo.png`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return c.run(cmd, args[0]) },
	}
	f := cmd.Flags()
	f.Uint64Var(&c.rev, "rev", 0, "read the key's own rev N")
	f.Int64Var(&c.revision, "revision", 0, "read the store as of store revision N")
	f.StringVar(&c.asOf, "as-of", "", "read the store as of an RFC 3339 time")
	f.BoolVar(&c.serializable, "serializable", false, "read the answering node's state without a leader round trip")
	f.BoolVar(&c.raw, "raw", false, "write the value's raw bytes to stdout")
	cmd.MarkFlagsMutuallyExclusive("rev", "revision", "as-of")
	return cmd
}

func (c *getCmd) options(cmd *cobra.Command) (*crush.GetOptions, error) {
	opts := &crush.GetOptions{Fork: c.g.fork, Serializable: c.serializable}
	switch {
	case cmd.Flags().Changed("rev"):
		opts.At = crush.AtRev(c.rev)
	case cmd.Flags().Changed("revision"):
		opts.At = crush.AtRevision(c.revision)
	case c.asOf != "":
		t, err := time.Parse(time.RFC3339Nano, c.asOf)
		if err != nil {
			return nil, fmt.Errorf("--as-of %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", c.asOf)
		}
		opts.At = crush.AsOf(t)
	}
	return opts, nil
}

func (c *getCmd) run(cmd *cobra.Command, key string) error {
	client, err := c.g.client()
	if err != nil {
		return err
	}
	opts, err := c.options(cmd)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if c.raw {
		v, err := client.GetRaw(cmd.Context(), key, opts)
		if err != nil {
			return err
		}
		_, err = out.Write(v.Value)
		return err
	}
	rec, err := client.Get(cmd.Context(), key, opts)
	if err != nil {
		var e *crush.Error
		if errors.As(err, &e) && e.Deleted {
			return fmt.Errorf("key %q was deleted at rev %d: read an earlier one with --rev (%s)", key, e.Rev, e.Code)
		}
		return err
	}
	if c.g.json() {
		return printJSON(out, rec)
	}
	return printRecord(out, rec)
}

// printRecord prints a record as a two-column table, the value last.
func printRecord(w io.Writer, rec crush.Record) error {
	t := newTable(w)
	t.row("KEY", rec.Key)
	t.row("FORK", rec.Fork)
	t.row("REV", u64(rec.Rev))
	t.row("OP", rec.Op)
	t.row("TIME", showTime(rec.Time))
	t.row("MOD_REVISION", i64(rec.ModRevision))
	t.row("CREATED_REVISION", i64(rec.CreatedRevision))
	t.row("READ_REVISION", i64(rec.Revision))
	t.row("ANCESTORS", showAncestors(rec.Ancestors))
	t.row("SIZE", fmt.Sprintf("%d bytes", len(rec.Value)))
	if err := t.flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "VALUE\n%s\n", showValue(rec.Value))
	return err
}
