package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/client/crush"
)

type putCmd struct {
	g           *globals
	file        string
	ifMatch     uint64
	ifNoneMatch bool
}

func newPutCmd(g *globals) *cobra.Command {
	c := &putCmd{g: g}
	cmd := &cobra.Command{
		Use:   "put KEY [VALUE]",
		Short: "Write a value as the key's new rev (from the argument, -f FILE, or stdin)",
		Example: `  crush put app/config '{"replicas": 3}'
  crush put app/logo.png -f logo.png
  echo -n hello | crush put greeting
  crush put app/config new --if-match 3      # only if the key is still at rev 3
  crush put app/lock me --if-none-match      # only if the key does not exist`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error { return c.run(cmd, args) },
	}
	f := cmd.Flags()
	f.StringVarP(&c.file, "file", "f", "", `read the value from a file ("-" for stdin)`)
	f.Uint64Var(&c.ifMatch, "if-match", 0, "write only if the key is at this rev")
	f.BoolVar(&c.ifNoneMatch, "if-none-match", false, "write only if the key does not exist")
	cmd.MarkFlagsMutuallyExclusive("if-match", "if-none-match")
	return cmd
}

// value reads the value from the argument, the file, or stdin.
func (c *putCmd) value(cmd *cobra.Command, args []string) ([]byte, error) {
	switch {
	case len(args) == 2 && c.file != "":
		return nil, fmt.Errorf("give the value as an argument or with -f, not both")
	case len(args) == 2:
		return []byte(args[1]), nil
	case c.file != "" && c.file != "-":
		b, err := os.ReadFile(c.file)
		if err != nil {
			return nil, fmt.Errorf("read value: %w", err)
		}
		return b, nil
	}
	b, err := io.ReadAll(cmd.InOrStdin())
	if err != nil {
		return nil, fmt.Errorf("read value from stdin: %w", err)
	}
	return b, nil
}

func (c *putCmd) run(cmd *cobra.Command, args []string) error {
	client, err := c.g.client()
	if err != nil {
		return err
	}
	value, err := c.value(cmd, args)
	if err != nil {
		return err
	}
	opts := &crush.PutOptions{Fork: c.g.fork, If: precondition(cmd, c.ifMatch, c.ifNoneMatch)}
	res, err := client.Put(cmd.Context(), args[0], value, opts)
	if err != nil {
		return err
	}
	return printRow(cmd.OutOrStdout(), c.g.json(), res, []string{"KEY", "FORK", "REV", "REVISION"},
		[]string{res.Key, res.Fork, u64(res.Rev), i64(res.Revision)})
}

// precondition turns --if-match and --if-none-match into a client precondition.
func precondition(cmd *cobra.Command, ifMatch uint64, ifNoneMatch bool) crush.Precondition {
	switch {
	case cmd.Flags().Changed("if-match"):
		return crush.IfMatch(ifMatch)
	case ifNoneMatch:
		return crush.IfNoneMatch()
	}
	return crush.Precondition{}
}
