package coord

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

func TestTransient(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{rpctypes.ErrLeaderChanged, true},
		{rpctypes.ErrNoLeader, true},
		{fmt.Errorf("reading table t: %w", rpctypes.ErrTimeout), true},
		{rpctypes.ErrGRPCTimeoutDueToLeaderFail, true}, // the raw gRPC status, before the client converts it
		{rpctypes.ErrTooManyRequests, true},
		{fmt.Errorf("put: %w", context.DeadlineExceeded), true},
		{nil, false},
		{context.Canceled, false},
		{rpctypes.ErrKeyNotFound, false},
		{rpctypes.ErrGRPCCompacted, false},
		{errors.New("pid 9 out of range"), false},
		{fmt.Errorf("127.0.0.1:1 holds no replica of t pid 0"), false},
	} {
		if got := Transient(c.err); got != c.want {
			t.Errorf("Transient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
