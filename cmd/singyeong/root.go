package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	singyeong "github.com/mahou-go/mahou/client/singyeong"
)

// Environment variables of the client commands.
const (
	envURL  = "SINGYEONG_URL"
	envAuth = "SINGYEONG_AUTH"
)

// defaultServer is where the client commands connect when neither --server nor SINGYEONG_URL
// says otherwise.
const defaultServer = "http://127.0.0.1:4567"

// clientFlags are the flags every client command shares.
type clientFlags struct {
	server   string
	auth     string
	encoding string
	output   string
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "singyeong",
		Short:         "singyeong: a message bus that routes by client metadata",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServeCommand(stderr), newSendCommand("send"), newSendCommand("broadcast"),
		newQueryCommand(), newListenCommand(), newQueueCommand(), newClusterCommand())
	return root
}

func (f *clientFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.server, "server", "", "server URL (env "+envURL+", default "+defaultServer+")")
	cmd.Flags().StringVar(&f.auth, "auth", "", "server password (env "+envAuth+")")
	cmd.Flags().StringVar(&f.encoding, "encoding", "json", "wire encoding: json or msgpack")
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text or json")
}

// resolve applies the precedence flags, then environment, then defaults, and checks values.
func (f *clientFlags) resolve() error {
	f.server = firstNonEmpty(f.server, os.Getenv(envURL), defaultServer)
	f.auth = firstNonEmpty(f.auth, os.Getenv(envAuth))
	var problems []string
	if f.encoding != string(singyeong.JSON) && f.encoding != string(singyeong.Msgpack) {
		problems = append(problems, fmt.Sprintf("--encoding %q: must be json or msgpack", f.encoding))
	}
	if f.output != "text" && f.output != "json" {
		problems = append(problems, fmt.Sprintf("--output %q: must be text or json", f.output))
	}
	if _, err := singyeong.WebsocketURL(f.server, singyeong.JSON); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid flags: %s", strings.Join(problems, "; "))
	}
	return nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func stderrLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
