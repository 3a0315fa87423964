package ops

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/api/gen/openmldb/v1/openmldbv1connect"
)

// Only errors that prove the nameserver did not take a request let the
// tool send it again: sending an op twice could add a replica twice.
func TestNotTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	ns := openmldbv1connect.NewNameServerClient(&http.Client{Timeout: 5 * time.Second}, "http://"+closed)
	_, dialErr := ns.SubmitOp(context.Background(), connect.NewRequest(&openmldbv1.SubmitOpRequest{}))
	if dialErr == nil {
		t.Fatal("a call to a closed port succeeded")
	}
	notLeader := connect.NewError(connect.CodeFailedPrecondition, errors.New("not the leader"))
	notLeader.Meta().Set("x-openmldb-not-leader", "1")
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", dialErr, true},
		{"not the leader", notLeader, true},
		{"refused by the leader", connect.NewError(connect.CodeFailedPrecondition, errors.New("auto_failover is enabled")), false},
		{"internal error", connect.NewError(connect.CodeInternal, errors.New("persisting op: etcdserver: request timed out")), false},
		{"deadline", context.DeadlineExceeded, false},
	} {
		if got := notTaken(c.err); got != c.want {
			t.Errorf("%s (%v): notTaken = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}
