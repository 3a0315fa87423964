package coord

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
)

// ErrUnreachable is returned when no etcd endpoint answers in time.
var ErrUnreachable = errors.New("etcd unreachable")

// Connect opens a client and proves that the cluster answers within
// timeout, so that a wrong --zk_cluster fails fast and says so.
func Connect(ctx context.Context, endpoints []string, timeout time.Duration) (*clientv3.Client, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            endpoints,
		DialTimeout:          timeout,
		DialKeepAliveTime:    2 * time.Second,
		DialKeepAliveTimeout: 2 * time.Second,
		Logger:               zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %w", ErrUnreachable, strings.Join(endpoints, ","), err)
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := cli.Get(cctx, "/", clientv3.WithCountOnly()); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("%w at --zk_cluster=%s (waited %s): %w", ErrUnreachable, strings.Join(endpoints, ","), timeout, err)
	}
	return cli, nil
}

// LeaseTTLSeconds converts a session timeout to an etcd lease TTL: whole
// seconds, rounded up, at least 2 (etcd's minimum with default ticks).
func LeaseTTLSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 2 {
		s = 2
	}
	return s
}

// NewSession starts an etcd session (a lease kept alive) that does not end
// with any caller's context: on shutdown its owner still needs it to resign
// and to revoke the lease, which makes leaving visible at once instead of
// after the TTL. end revokes the lease (bounded by the TTL) and stops the
// keep-alive; call it exactly once.
func NewSession(cli *clientv3.Client, ttlSeconds int) (sess *concurrency.Session, end func(), err error) {
	ctx, cancel := context.WithCancel(context.Background())
	sess, err = concurrency.NewSession(cli, concurrency.WithTTL(ttlSeconds), concurrency.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("creating etcd session: %w", err)
	}
	return sess, func() {
		_ = sess.Close() // revokes the lease
		cancel()
	}, nil
}
