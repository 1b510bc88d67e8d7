package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	singyeong "github.com/mahou-go/mahou/client/singyeong"
)

func newQueueLsCommand() *cobra.Command {
	var af adminFlags
	cmd := &cobra.Command{
		Use:   "ls [QUEUE]",
		Short: "list the queues with their depth, in-flight and dead-lettered counts",
		Example: "  singyeong queue ls\n" +
			"  singyeong queue ls jobs -o json",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, ctx, cancel, err := af.rest(cmd.Context())
			if err != nil {
				return err
			}
			defer cancel()
			var stats []singyeong.QueueStats
			if len(args) == 1 {
				s, err := api.QueueStats(ctx, args[0])
				if err != nil {
					return err
				}
				stats = []singyeong.QueueStats{s}
			} else if stats, err = api.Queues(ctx); err != nil {
				return err
			}
			if af.output == "json" {
				return writeJSONLine(cmd.OutOrStdout(), statsMaps(stats))
			}
			return printStats(cmd.OutOrStdout(), stats)
		},
	}
	af.register(cmd)
	return cmd
}

func printStats(w io.Writer, stats []singyeong.QueueStats) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUE\tDEPTH\tREADY\tDELAYED\tIN-FLIGHT\tDEAD\tWAITING\tBYTES")
	for _, s := range stats {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", s.Queue, s.Depth, s.Ready, s.Delayed, s.InFlight,
			s.DeadLettered, s.WaitingConsumers, s.Bytes)
	}
	return tw.Flush()
}

func statsMaps(stats []singyeong.QueueStats) []any {
	out := make([]any, len(stats))
	for i, s := range stats {
		out[i] = map[string]any{"queue": s.Queue, "depth": s.Depth, "ready": s.Ready, "delayed": s.Delayed,
			"in_flight": s.InFlight, "dead_lettered": s.DeadLettered, "waiting_consumers": s.WaitingConsumers, "bytes": s.Bytes}
	}
	return out
}
