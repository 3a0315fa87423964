package replication

import (
	"bufio"
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"
)

// preparingSM is a countingSM that captures its sum in Prepare; its save
// waits for the test to let it finish.
type preparingSM struct {
	countingSM
	saving  chan struct{} // closed when a prepared save starts writing
	once    sync.Once
	finish  chan struct{} // the save writes once this is closed
	written chan uint64   // the sum each save wrote
}

func newPreparingSM() *preparingSM {
	return &preparingSM{saving: make(chan struct{}), finish: make(chan struct{}), written: make(chan uint64, 4)}
}

func (s *preparingSM) Prepare() (SaveFunc, error) {
	sum, _, _ := s.state()
	return SaveFunc{Save: func(w *bufio.Writer) error {
		s.once.Do(func() { close(s.saving) })
		<-s.finish
		if _, err := w.Write(binary.LittleEndian.AppendUint64(nil, sum)); err != nil {
			return err
		}
		s.written <- sum
		return w.Flush()
	}, Release: func() {}}, nil
}

func waitLeader(t *testing.T, ctx context.Context, h *Host, shard uint64) {
	t.Helper()
	for {
		if _, _, ok := h.Leader(shard); ok {
			return
		}
		if ctx.Err() != nil {
			t.Fatal("no leader")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// While a snapshot of a Preparer is being written, the group goes on
// committing and applying; the snapshot holds the state at Prepare.
func TestSnapshotSaveDoesNotHoldApplies(t *testing.T) {
	const shard = 9
	h, addr := startHost(t)
	m := newPreparingSM()
	if err := h.StartReplica(shard, 1, map[uint64]string{1: addr}, false, false, func() StateMachine { return m }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waitLeader(t, ctx, h, shard)
	for i := 0; i < 10; i++ {
		if _, _, err := h.Propose(ctx, shard, []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	snapDone := make(chan error, 1)
	go func() { _, err := h.SnapshotAndCompact(ctx, shard); snapDone <- err }()
	select {
	case <-m.saving:
	case err := <-snapDone:
		t.Fatalf("snapshot ended before its save started: %v", err)
	case <-ctx.Done():
		t.Fatal("the snapshot's save never started")
	}
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	for i := 0; i < 20; i++ {
		if _, _, err := h.Propose(pctx, shard, []byte{1}); err != nil {
			pcancel()
			close(m.finish)
			t.Fatalf("proposal %d while a snapshot was being written: %v (applies wait behind the save)", i, err)
		}
	}
	pcancel()
	if sum, _, _ := m.state(); sum != 30 {
		t.Fatalf("sum %d while the snapshot was being written, want 30", sum)
	}
	close(m.finish)
	if err := <-snapDone; err != nil {
		t.Fatal(err)
	}
	if got := <-m.written; got != 10 {
		t.Fatalf("the snapshot holds sum %d, want 10 (the state when it was prepared)", got)
	}
}

// A replica keeps the state machine type its log records: one started as
// a plain StateMachine restarts with a Preparer, and the other way round.
func TestReplicaRestartsAsItsRecordedType(t *testing.T) {
	for _, first := range []string{"plain", "preparer"} {
		t.Run("first "+first, func(t *testing.T) {
			const shard = 11
			dir, addr := t.TempDir(), freeAddr(t)
			run := func(preparer bool, proposals int) uint64 {
				h, err := NewHost(Config{Dir: dir, RaftAddress: addr})
				if err != nil {
					t.Fatal(err)
				}
				defer h.Close()
				var m StateMachine = &countingSM{}
				if preparer {
					m = newPreparingSM()
				}
				if err := h.StartReplica(shard, 1, map[uint64]string{1: addr}, false, false, func() StateMachine { return m }); err != nil {
					t.Fatalf("start (preparer=%v): %v", preparer, err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				waitLeader(t, ctx, h, shard)
				var sum uint64
				for i := 0; i < proposals; i++ {
					if sum, _, err = h.Propose(ctx, shard, []byte{1}); err != nil {
						t.Fatal(err)
					}
				}
				return sum
			}
			run(first == "preparer", 5)
			if got := (&Host{cfg: Config{Dir: dir}}).madeConcurrent(shard, 1); got != (first == "preparer") {
				t.Fatalf("marked concurrent: %v after a first start as %s", got, first)
			}
			if sum := run(first != "preparer", 1); sum != 6 {
				t.Fatalf("after the restart with the other kind of state machine the sum is %d, want 6", sum)
			}
			// The kind stays what the first start made it.
			if got := (&Host{cfg: Config{Dir: dir}}).madeConcurrent(shard, 1); got != (first == "preparer") {
				t.Fatalf("marked concurrent: %v after a restart, first started as %s", got, first)
			}
		})
	}
}

// Replicas of both kinds in one group (a group mid-upgrade) hand each
// other snapshots: dragonboat's snapshot bytes do not depend on the kind.
func TestMixedKindsShareSnapshots(t *testing.T) {
	for _, leaderKind := range []string{"plain", "preparer"} {
		t.Run("leader "+leaderKind, func(t *testing.T) {
			const shard = 13
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			machine := func(kind string) StateMachine {
				if kind == "plain" {
					return &countingSM{}
				}
				m := newPreparingSM()
				close(m.finish) // saves write at once
				return m
			}
			leader, addr := startHost(t)
			if err := leader.StartReplica(shard, 1, map[uint64]string{1: addr}, false, false, func() StateMachine { return machine(leaderKind) }); err != nil {
				t.Fatal(err)
			}
			waitLeader(t, ctx, leader, shard)
			for i := 0; i < 100; i++ {
				if _, _, err := leader.Propose(ctx, shard, []byte{2}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := leader.SnapshotAndCompact(ctx, shard); err != nil {
				t.Fatal(err)
			}
			otherKind := map[string]string{"plain": "preparer", "preparer": "plain"}[leaderKind]
			follower, faddr := startHost(t)
			if err := leader.AddNonVoting(ctx, shard, 2, faddr); err != nil {
				t.Fatal(err)
			}
			m := machine(otherKind)
			if err := follower.StartReplica(shard, 2, nil, true, true, func() StateMachine { return m }); err != nil {
				t.Fatal(err)
			}
			state := func() (uint64, int) {
				switch m := m.(type) {
				case *countingSM:
					s, _, l := m.state()
					return s, l
				case *preparingSM:
					s, _, l := m.state()
					return s, l
				}
				return 0, 0
			}
			for {
				if sum, loads := state(); sum == 200 {
					if loads != 1 {
						t.Fatalf("the %s replica caught up with %d snapshots loaded, want 1", otherKind, loads)
					}
					return
				}
				if ctx.Err() != nil {
					sum, loads := state()
					t.Fatalf("the %s replica did not catch up from the %s leader's snapshot: sum %d of 200, %d snapshots loaded", otherKind, leaderKind, sum, loads)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
