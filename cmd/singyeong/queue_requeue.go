package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

func newQueueRequeueCommand() *cobra.Command {
	var af adminFlags
	var ids []string
	var all bool
	cmd := &cobra.Command{
		Use:   "requeue QUEUE (--id ID... | --all)",
		Short: "move dead letters back to the tail of their queue, their delivery count reset",
		Example: "  singyeong queue requeue jobs --all\n" +
			"  singyeong queue requeue jobs --id 6f1c...",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(ids) > 0) {
				return errors.New("say which dead letters: --id ID (repeatable) or --all")
			}
			api, ctx, cancel, err := af.rest(cmd.Context())
			if err != nil {
				return err
			}
			defer cancel()
			n, err := api.RequeueDeadLetters(ctx, args[0], idsOrAll(ids, all))
			if err != nil {
				return err
			}
			return printCount(cmd, af, args[0], "requeued", n)
		},
	}
	af.register(cmd)
	cmd.Flags().StringSliceVar(&ids, "id", nil, "dead letter id (repeatable)")
	cmd.Flags().BoolVar(&all, "all", false, "every dead letter of the queue")
	return cmd
}

// idsOrAll is nil (every message) for --all, else the ids.
func idsOrAll(ids []string, all bool) []string {
	if all {
		return nil
	}
	return ids
}

func printCount(cmd *cobra.Command, af adminFlags, queue, what string, n int64) error {
	if af.output == "json" {
		return writeJSONLine(cmd.OutOrStdout(), map[string]any{"queue": queue, what: n})
	}
	_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s: %d %s\n", queue, n, what)
	return err
}
