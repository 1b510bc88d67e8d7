package main

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/client/crush"
)

func newRetentionCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "retention get|set",
		Short: "Read or replace the history retention policy",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newRetentionGetCmd(g), newRetentionSetCmd(g))
	return cmd
}

func newRetentionGetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "get",
		Short:   "Show the retention policy",
		Example: `  crush retention get`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := g.client()
			if err != nil {
				return err
			}
			r, err := client.Retention(cmd.Context())
			if err != nil {
				return err
			}
			return printRetention(cmd, g, r)
		},
	}
}

func newRetentionSetCmd(g *globals) *cobra.Command {
	var r crush.Retention
	cmd := &cobra.Command{
		Use:   "set [--keep-revs N] [--keep-duration D]",
		Short: "Replace the retention policy (a flag left out turns its rule off)",
		Example: `  crush retention set --keep-revs 100
  crush retention set --keep-duration 720h
  crush retention set            # keep everything`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := g.client()
			if err != nil {
				return err
			}
			got, err := client.SetRetention(cmd.Context(), r)
			if err != nil {
				return err
			}
			return printRetention(cmd, g, got)
		},
	}
	cmd.Flags().IntVar(&r.KeepRevs, "keep-revs", 0, "keep at most this many newest revs of every key (0: no limit)")
	cmd.Flags().DurationVar(&r.KeepDuration, "keep-duration", 0, "keep every revision younger than this (0: no limit)")
	return cmd
}

func printRetention(cmd *cobra.Command, g *globals, r crush.Retention) error {
	d := "-"
	if r.KeepDuration > 0 {
		d = r.KeepDuration.String()
	}
	return printRow(cmd.OutOrStdout(), g.json(), r, []string{"KEEP_REVS", "KEEP_DURATION", "POLICY"},
		[]string{strconv.Itoa(r.KeepRevs), d, showRetention(r)})
}
