package nameserver

import (
	"reflect"
	"testing"
)

func TestRunnable(t *testing.T) {
	op := func(id uint64, typ string, tid, pid uint32, status string) *Op {
		return &Op{ID: id, Type: typ, TID: tid, PID: pid, Status: status}
	}
	cases := []struct {
		name       string
		ops        []*Op
		running    []uint64
		conc, copy int
		want       []uint64
	}{
		{"copies wait for each other, leader moves do not",
			[]*Op{op(1, OpAddReplica, 1, 0, OpInited), op(2, OpAddReplica, 1, 1, OpInited), op(3, OpChangeLeader, 1, 2, OpInited), op(4, OpMigrate, 1, 3, OpInited)},
			nil, 4, 1, []uint64{1, 3}},
		{"a running copy holds the others",
			[]*Op{op(1, OpAddReplica, 1, 0, OpDoing), op(2, OpAddReplica, 1, 1, OpInited), op(3, OpDelReplica, 1, 2, OpInited)},
			[]uint64{1}, 4, 1, []uint64{3}},
		{"two copies allowed",
			[]*Op{op(1, OpAddReplica, 1, 0, OpInited), op(2, OpMigrate, 1, 1, OpInited), op(3, OpAddReplica, 1, 2, OpInited)},
			nil, 4, 2, []uint64{1, 2}},
		{"overall limit",
			[]*Op{op(1, OpChangeLeader, 1, 0, OpInited), op(2, OpChangeLeader, 1, 1, OpInited), op(3, OpChangeLeader, 1, 2, OpInited)},
			[]uint64{}, 2, 1, []uint64{1, 2}},
		{"one op per partition, oldest first; finished ones ignored",
			[]*Op{op(1, OpAddReplica, 1, 0, OpDone), op(2, OpChangeLeader, 1, 0, OpInited), op(3, OpDelReplica, 1, 0, OpInited)},
			nil, 4, 1, []uint64{2}},
		{"a partition waiting on the copy limit still blocks its later ops",
			[]*Op{op(1, OpAddReplica, 2, 0, OpDoing), op(2, OpAddReplica, 1, 0, OpInited), op(3, OpDelReplica, 1, 0, OpInited)},
			[]uint64{1}, 4, 1, nil},
	}
	for _, c := range cases {
		ops := map[uint64]*Op{}
		for _, o := range c.ops {
			ops[o.ID] = o
		}
		running := map[uint64]bool{}
		for _, id := range c.running {
			running[id] = true
		}
		if got := runnable(ops, running, c.conc, c.copy); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
