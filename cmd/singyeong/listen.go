package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	singyeong "github.com/mahou-go/mahou/client/singyeong"
)

func newListenCommand() *cobra.Command {
	var cf clientFlags
	var appID, clientID, metadata, namespace string
	var updates, reconnect bool
	cmd := &cobra.Command{
		Use:   "listen",
		Short: "connect as a client and print every frame it receives, one per line",
		Example: "  singyeong listen --app-id worker --metadata '{\"region\":{\"type\":\"string\",\"value\":\"eu\"}}'\n" +
			"  singyeong listen --app-id monitor --client-updates -o json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cf.resolve(); err != nil {
				return err
			}
			md, err := parseMetadata(metadata)
			if err != nil {
				return err
			}
			c, err := singyeong.Dial(cmd.Context(), singyeong.Options{
				URL: cf.server, AppID: appID, ClientID: clientID, Auth: cf.auth,
				Encoding: singyeong.Encoding(cf.encoding), Metadata: md, Namespace: namespace,
				ReceiveClientUpdates: updates, Reconnect: reconnect,
				Logger: stderrLogger(cmd.ErrOrStderr(), slog.LevelWarn),
			})
			if err != nil {
				return err
			}
			defer c.Close()
			fmt.Fprintf(cmd.ErrOrStderr(), "listening as %s/%s (restricted: %v)\n", appID, c.ClientID(), c.Restricted())
			return printFrames(cmd.Context(), cmd.OutOrStdout(), c.Frames(), cf.output == "json")
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&appID, "app-id", "singyeong-cli", "application id to identify as")
	cmd.Flags().StringVar(&clientID, "client-id", "", "client id to identify as (default: random)")
	cmd.Flags().StringVar(&metadata, "metadata", "", `initial metadata as JSON: {"key":{"type":"integer","value":1}}`)
	cmd.Flags().StringVar(&namespace, "namespace", "", "namespace to identify with")
	cmd.Flags().BoolVar(&updates, "client-updates", false, "receive CLIENT_CONNECTED and CLIENT_DISCONNECTED")
	cmd.Flags().BoolVar(&reconnect, "reconnect", false, "reconnect when the connection drops")
	return cmd
}

func parseMetadata(s string) (singyeong.Metadata, error) {
	if s == "" {
		return nil, nil
	}
	v, err := parseJSON(s)
	if err != nil {
		return nil, fmt.Errorf("--metadata: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New(`--metadata: must be an object {"key":{"type":T,"value":V}}`)
	}
	md := singyeong.Metadata{}
	for k, e := range m {
		entry, _ := e.(map[string]any)
		t, _ := entry["type"].(string)
		if entry == nil || t == "" {
			return nil, fmt.Errorf(`--metadata: %s: must be {"type":T,"value":V}`, k)
		}
		md[k] = singyeong.Value{Type: t, Value: entry["value"]}
	}
	return md, nil
}

// numbers turns json.Numbers into int64 (no fraction, no exponent) or float64 so that the
// client encodes them with their type.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if !strings.ContainsAny(string(x), ".eE") {
			if i, err := x.Int64(); err == nil {
				return i
			}
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	}
	return v
}

// printFrames prints frames until the channel closes or ctx ends.
func printFrames(ctx context.Context, w io.Writer, frames <-chan singyeong.Frame, asJSON bool) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case f, ok := <-frames:
			if !ok {
				return errors.New("connection closed")
			}
			if err := printFrame(w, f, asJSON); err != nil {
				return err
			}
		}
	}
}

func printFrame(w io.Writer, f singyeong.Frame, asJSON bool) error {
	if asJSON {
		var t any
		if f.T != "" {
			t = f.T
		}
		return writeJSONLine(w, map[string]any{"op": f.Op, "t": t, "d": f.D, "ts": f.TS})
	}
	d, _ := singyeong.MarshalJSON(f.D)
	if f.Op == singyeong.OpDispatch {
		_, err := fmt.Fprintf(w, "%s %s\n", f.T, d)
		return err
	}
	_, err := fmt.Fprintf(w, "op %d %s\n", f.Op, d)
	return err
}
