package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	singyeong "github.com/mahou-go/mahou/client/singyeong"
)

func newQueryCommand() *cobra.Command {
	var cf clientFlags
	var tf targetFlags
	cmd := &cobra.Command{
		Use:   "query",
		Short: "list the clients a target query matches (POST /api/v1/query)",
		Example: "  singyeong query --app worker\n" +
			"  singyeong query --target '{\"application\":\"worker\",\"ops\":[{\"path\":\"/region\",\"op\":\"$eq\",\"to\":{\"value\":\"eu\"}}]}' -o json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cf.resolve(); err != nil {
				return err
			}
			target, err := tf.query()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), sendTimeout)
			defer cancel()
			nodes, err := singyeong.Query(ctx, nil, cf.server, cf.auth, target)
			if err != nil {
				return err
			}
			if cf.output == "json" {
				return writeJSONLine(cmd.OutOrStdout(), nodeMaps(nodes))
			}
			return printNodes(cmd.OutOrStdout(), nodes)
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&tf.app, "app", "", "application (shorthand for --target '{\"application\":APP}')")
	cmd.Flags().StringVar(&tf.target, "target", "", "query as JSON")
	return cmd
}

func printNodes(w io.Writer, nodes []singyeong.Node) error {
	sort.Slice(nodes, func(i, j int) bool {
		if nodes[i].AppID != nodes[j].AppID {
			return nodes[i].AppID < nodes[j].AppID
		}
		return nodes[i].ClientID < nodes[j].ClientID
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tCLIENT\tIP\tMETADATA")
	for _, n := range nodes {
		keys := make([]string, 0, len(n.Metadata))
		for k := range n.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			b, _ := singyeong.MarshalJSON(n.Metadata[k])
			parts = append(parts, k+"="+string(b))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.AppID, n.ClientID, n.SocketIP, strings.Join(parts, " "))
	}
	return tw.Flush()
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := singyeong.MarshalJSON(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// nodeMaps renders nodes as plain maps so that MarshalJSON keeps float metadata as floats.
func nodeMaps(nodes []singyeong.Node) []any {
	out := make([]any, len(nodes))
	for i, n := range nodes {
		types := make(map[string]any, len(n.MetadataTypes))
		for k, t := range n.MetadataTypes {
			types[k] = t
		}
		queues := make([]any, len(n.Queues))
		for j, q := range n.Queues {
			queues[j] = q
		}
		out[i] = map[string]any{"app_id": n.AppID, "client_id": n.ClientID, "metadata": n.Metadata,
			"metadata_types": types, "socket_ip": n.SocketIP, "queues": queues}
	}
	return out
}
