package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newQueuePurgeCommand() *cobra.Command {
	var af adminFlags
	var ids []string
	var all, dlq bool
	cmd := &cobra.Command{
		Use:   "purge QUEUE [--dlq (--id ID... | --all)]",
		Short: "delete a queue's waiting messages, or with --dlq its dead letters",
		Long: "Without --dlq: delete every message of the queue that waits for delivery (ready or delayed);\n" +
			"messages in flight and dead letters stay. With --dlq: delete dead letters.",
		Example: "  singyeong queue purge jobs\n" +
			"  singyeong queue purge jobs --dlq --all",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !dlq && (all || len(ids) > 0) {
				return errors.New("--id and --all select dead letters: add --dlq")
			}
			if dlq && all == (len(ids) > 0) {
				return errors.New("say which dead letters: --id ID (repeatable) or --all")
			}
			api, ctx, cancel, err := af.rest(cmd.Context())
			if err != nil {
				return err
			}
			defer cancel()
			var n int64
			if dlq {
				n, err = api.PurgeDeadLetters(ctx, args[0], idsOrAll(ids, all))
			} else {
				n, err = api.PurgeQueue(ctx, args[0])
			}
			if err != nil {
				return err
			}
			return printCount(cmd, af, args[0], "purged", n)
		},
	}
	af.register(cmd)
	cmd.Flags().BoolVar(&dlq, "dlq", false, "purge dead letters instead of waiting messages")
	cmd.Flags().StringSliceVar(&ids, "id", nil, "dead letter id (repeatable, with --dlq)")
	cmd.Flags().BoolVar(&all, "all", false, "every dead letter (with --dlq)")
	return cmd
}
