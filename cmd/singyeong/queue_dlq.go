package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	singyeong "github.com/mahou-go/mahou/client/singyeong"
)

func newQueueDLQCommand() *cobra.Command {
	var af adminFlags
	var limit int
	var after uint64
	cmd := &cobra.Command{
		Use:   "dlq QUEUE",
		Short: "show a queue's dead letters, oldest first, a page at a time",
		Example: "  singyeong queue dlq jobs\n" +
			"  singyeong queue dlq jobs --limit 10 --after 1234 -o json",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, ctx, cancel, err := af.rest(cmd.Context())
			if err != nil {
				return err
			}
			defer cancel()
			page, err := api.DeadLetters(ctx, args[0], after, limit)
			if err != nil {
				return err
			}
			if af.output == "json" {
				var next any
				if page.Next != 0 {
					next = fmt.Sprint(page.Next)
				}
				return writeJSONLine(cmd.OutOrStdout(), map[string]any{"queue": args[0], "dead_letters": deadLetterMaps(page.DeadLetters), "next": next})
			}
			return printDeadLetters(cmd.OutOrStdout(), page)
		},
	}
	af.register(cmd)
	cmd.Flags().IntVar(&limit, "limit", 100, "dead letters per page (at most 1000)")
	cmd.Flags().Uint64Var(&after, "after", 0, "cursor printed by the previous page")
	return cmd
}

func printDeadLetters(w io.Writer, page singyeong.DeadLetterPage) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDELIVERIES\tDEAD AT\tREASON\tPAYLOAD")
	for _, d := range page.DeadLetters {
		payload, _ := singyeong.MarshalJSON(d.Payload)
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", d.ID, d.Deliveries, time.UnixMilli(d.DeadAt).UTC().Format(time.RFC3339), d.Reason, payload)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.Next != 0 {
		_, err := fmt.Fprintf(w, "more: --after %d\n", page.Next)
		return err
	}
	return nil
}

func deadLetterMaps(dead []singyeong.DeadLetter) []any {
	out := make([]any, len(dead))
	for i, d := range dead {
		out[i] = map[string]any{"id": d.ID, "target": d.Target, "nonce": d.Nonce, "payload": d.Payload,
			"enqueued_at": d.EnqueuedAt, "dead_at": d.DeadAt, "deliveries": d.Deliveries, "reason": d.Reason}
	}
	return out
}
