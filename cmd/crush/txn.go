package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/client/crush"
)

type txnCmd struct {
	g    *globals
	file string
}

func newTxnCmd(g *globals) *cobra.Command {
	c := &txnCmd{g: g}
	cmd := &cobra.Command{
		Use:   "txn [-f FILE]",
		Short: "Apply a transaction read as JSON from a file or stdin",
		Long: `Apply a transaction: when every comparison holds the "then" operations run, else the
"else" operations, atomically, as one store revision. The JSON is the body of POST /v2/txn
(values in base64):

  {"compare": [{"key": "leader", "target": "rev", "op": "=", "number": 4}],
   "then":    [{"op": "put", "key": "leader", "value": "bm9kZS0y"}],
   "else":    [{"op": "get", "key": "leader"}]}

The command fails (exit status 1) when the transaction is refused, not when the comparisons
fail: see SUCCEEDED.`,
		Example: `  crush txn -f txn.json
  echo '{"then":[{"op":"get","key":"a"}]}' | crush txn -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.run(cmd) },
	}
	cmd.Flags().StringVarP(&c.file, "file", "f", "-", `read the transaction from this file ("-" for stdin)`)
	return cmd
}

func (c *txnCmd) read(cmd *cobra.Command) (crush.Txn, error) {
	var t crush.Txn
	var raw []byte
	var err error
	if c.file == "-" {
		raw, err = io.ReadAll(cmd.InOrStdin())
	} else {
		raw, err = os.ReadFile(c.file)
	}
	if err != nil {
		return t, fmt.Errorf("read transaction: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return t, fmt.Errorf("parse transaction: %w", err)
	}
	return t, nil
}

func (c *txnCmd) run(cmd *cobra.Command) error {
	client, err := c.g.client()
	if err != nil {
		return err
	}
	t, err := c.read(cmd)
	if err != nil {
		return err
	}
	res, err := client.Txn(cmd.Context(), t)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if c.g.json() {
		return printJSON(out, res)
	}
	fmt.Fprintf(out, "SUCCEEDED %t at revision %d\n", res.Succeeded, res.Revision)
	tw := newTable(out, "OP", "FORK", "KEY", "REV", "FOUND", "VALUE")
	for _, r := range res.Results {
		found, value := "-", "-"
		if r.Op == "get" {
			found = strconv.FormatBool(r.Found)
		}
		if r.Record != nil {
			value = oneLine(r.Record.Value)
		}
		tw.row(r.Op, r.Fork, r.Key, u64(r.Rev), found, value)
	}
	return tw.flush()
}
