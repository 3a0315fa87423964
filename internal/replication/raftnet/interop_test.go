package raftnet

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4"
	dbconfig "github.com/lni/dragonboat/v4/config"
	dblogger "github.com/lni/dragonboat/v4/logger"
	sm "github.com/lni/dragonboat/v4/statemachine"
)

// counter is a state machine that sums uint64 commands and remembers
// whether it was built from a snapshot.
type counter struct {
	mu        sync.Mutex
	sum, n    uint64
	recovered bool
}

func (c *counter) Update(e sm.Entry) (sm.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sum += binary.BigEndian.Uint64(e.Cmd)
	c.n++
	return sm.Result{Value: c.n}, nil
}

func (c *counter) Lookup(any) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return [2]uint64{c.n, c.sum}, nil
}

func (c *counter) SaveSnapshot(w io.Writer, _ sm.ISnapshotFileCollection, _ <-chan struct{}) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:], c.n)
	binary.BigEndian.PutUint64(b[8:], c.sum)
	_, err := w.Write(b[:])
	return err
}

func (c *counter) RecoverFromSnapshot(r io.Reader, _ []sm.SnapshotFile, _ <-chan struct{}) error {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n, c.sum, c.recovered = binary.BigEndian.Uint64(b[:]), binary.BigEndian.Uint64(b[8:]), true
	return nil
}

func (c *counter) Close() error { return nil }

func init() {
	for _, name := range []string{"dragonboat", "raft", "rsm", "transport", "logdb", "raftpb", "config", "settings", "registry"} {
		dblogger.GetLogger(name).SetLevel(dblogger.ERROR)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type member struct {
	nh   *dragonboat.NodeHost
	addr string
	sm   *counter
}

func startHost(t *testing.T, ours bool) *member {
	t.Helper()
	m := &member{addr: freeAddr(t), sm: &counter{}}
	nhc := dbconfig.NodeHostConfig{NodeHostDir: filepath.Join(t.TempDir(), "nh"), RTTMillisecond: 20, RaftAddress: m.addr}
	nhc.Expert.LogDB = dbconfig.GetTinyMemLogDBConfig()
	if ours {
		nhc.Expert.TransportFactory = Factory{}
	}
	nh, err := dragonboat.NewNodeHost(nhc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nh.Close)
	m.nh = nh
	return m
}

func shardConfig(replica uint64) dbconfig.Config {
	return dbconfig.Config{ShardID: 1, ReplicaID: replica, ElectionRTT: 10, HeartbeatRTT: 1, CheckQuorum: true, SnapshotEntries: 10, CompactionOverhead: 2}
}

func (m *member) start(t *testing.T, replica uint64, initial map[uint64]string, join bool) {
	t.Helper()
	if err := m.nh.StartReplica(initial, join, func(uint64, uint64) sm.IStateMachine { return m.sm }, shardConfig(replica)); err != nil {
		t.Fatal(err)
	}
}

func (m *member) state() [2]uint64 {
	v, _ := m.sm.Lookup(nil)
	return v.([2]uint64)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestInteropWithBuiltinTransport runs one Raft group over node hosts that
// use dragonboat's built-in TCP transport and ones that use this package,
// as a cluster in the middle of a rolling upgrade would. Messages flow both
// ways, and a snapshot is streamed from a built-in leader to one of ours
// and from one of ours to a built-in member.
func TestInteropWithBuiltinTransport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five Raft node hosts")
	}
	hosts := map[uint64]*member{1: startHost(t, false), 2: startHost(t, true), 3: startHost(t, true)}
	initial := map[uint64]string{}
	for id, m := range hosts {
		initial[id] = m.addr
	}
	for id, m := range hosts {
		m.start(t, id, initial, false)
	}
	leaderOn := func(id uint64) {
		t.Helper()
		eventually(t, fmt.Sprintf("replica %d to lead", id), func() bool {
			lid, _, ok, _ := hosts[id].nh.GetLeaderID(1)
			if ok && lid == id {
				return true
			}
			_ = hosts[id].nh.RequestLeaderTransfer(1, id)
			time.Sleep(100 * time.Millisecond)
			return false
		})
	}
	var want [2]uint64
	propose := func(via uint64, n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			var b [8]byte
			v := want[0]*7 + 1
			binary.BigEndian.PutUint64(b[:], v)
			_, err := hosts[via].nh.SyncPropose(ctx, hosts[via].nh.GetNoOPSession(1), b[:])
			cancel()
			if err != nil {
				t.Fatalf("proposal %d via replica %d: %v", i, via, err)
			}
			want[0]++
			want[1] += v
		}
	}
	converged := func(ids ...uint64) {
		t.Helper()
		for _, id := range ids {
			eventually(t, fmt.Sprintf("replica %d to apply %d entries", id, want[0]), func() bool { return hosts[id].state() == want })
		}
	}

	// A built-in leader replicating to our followers, and back.
	leaderOn(1)
	propose(1, 30)
	converged(1, 2, 3)
	// Our leader replicating to a built-in follower.
	leaderOn(2)
	propose(2, 30)
	converged(1, 2, 3)

	// Snapshots. The log is compacted every 10 entries, so a new member
	// can only be brought up by one.
	add := func(leader, id uint64, ours bool) {
		t.Helper()
		leaderOn(leader)
		m := startHost(t, ours)
		hosts[id] = m
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := hosts[leader].nh.SyncRequestAddReplica(ctx, 1, id, m.addr, 0); err != nil {
			t.Fatal(err)
		}
		m.start(t, id, nil, true)
		converged(id)
		m.sm.mu.Lock()
		recovered := m.sm.recovered
		m.sm.mu.Unlock()
		if !recovered {
			t.Fatalf("replica %d caught up without a snapshot; the test did not exercise snapshot streaming", id)
		}
	}
	add(1, 4, true)  // built-in -> ours
	add(2, 5, false) // ours -> built-in
	propose(2, 10)
	converged(1, 2, 3, 4, 5)
}
