package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	singyeong "github.com/mahou-go/mahou/client/singyeong"
)

// sendTimeout bounds connecting, sending and confirming.
const sendTimeout = 10 * time.Second

// newSendCommand builds send (one receiver) or broadcast (every receiver).
func newSendCommand(name string) *cobra.Command {
	var cf clientFlags
	var tf targetFlags
	var payload, nonce, appID, clientID string
	short := "send a payload to one client the target matches"
	if name == "broadcast" {
		short = "send a payload to every client the target matches"
	}
	cmd := &cobra.Command{
		Use:   name,
		Short: short,
		Example: "  singyeong " + name + " --app worker --payload '{\"job\":42}'\n" +
			"  singyeong " + name + " --target '{\"application\":\"worker\",\"ops\":[{\"path\":\"/load\",\"op\":\"$lt\",\"to\":{\"value\":5}}]}' --payload hi",
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
			var n any
			if nonce != "" {
				n = nonce
			}
			if err := sendOnce(ctx, cf, name, appID, clientID, target, payloadValue(payload), n); err != nil {
				return err
			}
			if cf.output == "json" {
				fmt.Fprintln(cmd.OutOrStdout(), `{"status":"sent"}`)
			} else {
				fmt.Fprintln(cmd.OutOrStdout(), "sent")
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&tf.app, "app", "", "target application (shorthand for --target '{\"application\":APP}')")
	cmd.Flags().StringVar(&tf.target, "target", "", "target query as JSON")
	cmd.Flags().StringVar(&payload, "payload", "", "payload: JSON, or else sent as a string")
	cmd.Flags().StringVar(&nonce, "nonce", "", "nonce passed through to the receiver")
	cmd.Flags().StringVar(&appID, "app-id", "singyeong-cli", "application id this command identifies as")
	cmd.Flags().StringVar(&clientID, "client-id", "", "client id this command identifies as (default: random)")
	return cmd
}

// sendOnce connects, sends, and waits for a heartbeat round trip so that a no_route or any
// other error the server answers is reported.
func sendOnce(ctx context.Context, cf clientFlags, event, appID, clientID string, target, payload, nonce any) error {
	c, err := singyeong.Dial(ctx, singyeong.Options{URL: cf.server, AppID: appID, ClientID: clientID,
		Auth: cf.auth, Encoding: singyeong.Encoding(cf.encoding)})
	if err != nil {
		return err
	}
	defer c.Close()
	if c.Restricted() {
		return fmt.Errorf("the server put this client in restricted mode (wrong or missing --auth): it may not %s", event)
	}
	if event == "broadcast" {
		err = c.Broadcast(ctx, target, payload, nonce)
	} else {
		err = c.Send(ctx, target, payload, nonce)
	}
	if err != nil {
		return err
	}
	if err := c.Ping(ctx); err != nil {
		return fmt.Errorf("confirm %s: %w", event, err)
	}
	for {
		select {
		case f := <-c.Frames():
			if err := f.Err(); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}
