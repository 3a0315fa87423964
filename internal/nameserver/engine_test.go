package nameserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// runOp executes one single-task op whose task answers with the given
// errors in turn (then done), and returns the op as the engine left it
// and how often the task ran.
func runOp(t *testing.T, answers ...error) (Op, int) {
	t.Helper()
	s := startEtcd(t)
	e := newOpEngine(s, 1, 1)
	calls := 0
	e.runTask = func(context.Context, *Op, string) (bool, int, error) {
		calls++
		if calls <= len(answers) {
			return false, 0, answers[calls-1]
		}
		return true, 0, nil
	}
	op := &Op{ID: 1, Type: OpChangeLeader, Table: "t", Tasks: []string{taskChangeLeader, taskUpdateTableAlive}}
	ids, err := e.submit(context.Background(), []*Op{op})
	if err != nil || len(ids) != 1 {
		t.Fatalf("submit: %v %v", ids, err)
	}
	cp := *e.ops[ids[0]]
	e.execute(context.Background(), &cp)
	return *e.ops[ids[0]], calls
}

// A task that meets etcd between leaders (or timing out, or shedding
// load) polls again: the op must not fail for it, as it would when a coord
// member restarts under a running pre-upgrade.
func TestOpRidesOutCoordinationStoreErrors(t *testing.T) {
	op, calls := runOp(t, rpctypes.ErrLeaderChanged, fmt.Errorf("reading table t: %w", rpctypes.ErrTimeout))
	if op.Status != OpDone || calls != 4 {
		t.Fatalf("status %s (%s) after %d task runs, want kDone after 4 (2 retried, 2 tasks)", op.Status, op.Reason, calls)
	}
}

// Any other error still fails the op at once, and says which task.
func TestOpFailsOnOtherErrors(t *testing.T) {
	op, calls := runOp(t, errors.New("127.0.0.1:1 holds no replica of t pid 0"))
	if op.Status != OpFailed || calls != 1 || !strings.Contains(op.Reason, taskChangeLeader+": 127.0.0.1:1 holds no replica") {
		t.Fatalf("status %s reason %q after %d runs, want kFailed naming the task after 1", op.Status, op.Reason, calls)
	}
}
