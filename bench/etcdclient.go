package main

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// etcdClient drives one etcd member through the official Go client, with its own gRPC
// connection.
type etcdClient struct {
	cli *clientv3.Client
}

var _ client = (*etcdClient)(nil)

// newEtcdClient connects to the etcd member at endpoint (http://host:port) only.
func newEtcdClient(endpoint string) (*etcdClient, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{endpoint},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("connect to etcd %s: %w", endpoint, err)
	}
	return &etcdClient{cli: cli}, nil
}

// Put writes value and returns the store revision of the write.
func (c *etcdClient) Put(ctx context.Context, key string, value []byte) (int64, error) {
	resp, err := c.cli.Put(ctx, key, string(value))
	if err != nil {
		return 0, fmt.Errorf("etcd put: %w", err)
	}
	return resp.Header.Revision, nil
}

// Get reads key's current value (linearizable, etcd's default).
func (c *etcdClient) Get(ctx context.Context, key string) ([]byte, error) {
	return c.get(ctx, key)
}

// GetAt reads key as of a store revision.
func (c *etcdClient) GetAt(ctx context.Context, key string, revision int64) ([]byte, error) {
	return c.get(ctx, key, clientv3.WithRev(revision))
}

func (c *etcdClient) get(ctx context.Context, key string, opts ...clientv3.OpOption) ([]byte, error) {
	resp, err := c.cli.Get(ctx, key, opts...)
	if err != nil {
		return nil, fmt.Errorf("etcd get: %w", err)
	}
	if len(resp.Kvs) != 1 {
		return nil, fmt.Errorf("etcd get: %d keys in the answer, want 1", len(resp.Kvs))
	}
	return resp.Kvs[0].Value, nil
}

// Revision returns the store revision the member reports.
func (c *etcdClient) Revision(ctx context.Context) (int64, error) {
	resp, err := c.cli.Get(ctx, "bench/revision-probe")
	if err != nil {
		return 0, fmt.Errorf("etcd get revision: %w", err)
	}
	return resp.Header.Revision, nil
}

// Close closes the connection.
func (c *etcdClient) Close() error { return c.cli.Close() }
