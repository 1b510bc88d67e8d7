package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	singyeong "github.com/mahou-go/mahou/client/singyeong"
)

// adminTimeout bounds one queue administration request.
const adminTimeout = 30 * time.Second

// newQueueCommand groups the queue administration commands (the /api/v1/queues routes).
func newQueueCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "inspect and administer the durable queues: ls, dlq, requeue, purge, backup",
	}
	cmd.AddCommand(newQueueLsCommand(), newQueueDLQCommand(), newQueueRequeueCommand(), newQueuePurgeCommand(), newQueueBackupCommand())
	return cmd
}

// adminFlags are the flags of the queue commands: the REST client's (no encoding).
type adminFlags struct{ clientFlags }

func (f *adminFlags) register(cmd *cobra.Command) {
	f.encoding = "json"
	cmd.Flags().StringVar(&f.server, "server", "", "server URL (env "+envURL+", default "+defaultServer+")")
	cmd.Flags().StringVar(&f.auth, "auth", "", "server password (env "+envAuth+")")
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text or json")
}

// rest resolves the flags and returns the REST client and a context bounded by adminTimeout.
func (f *adminFlags) rest(ctx context.Context) (singyeong.REST, context.Context, context.CancelFunc, error) {
	if err := f.resolve(); err != nil {
		return singyeong.REST{}, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	return singyeong.REST{Server: f.server, Auth: f.auth}, ctx, cancel, nil
}
