package replication

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingSM sums one-byte commands and counts how it got its state:
// entries applied one by one, or snapshots loaded.
type countingSM struct {
	mu      sync.Mutex
	sum     uint64
	applied int
	loads   int
}

func (s *countingSM) Apply(_ uint64, cmd []byte) (uint64, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(cmd) > 0 {
		s.sum += uint64(cmd[0])
	}
	s.applied++
	return s.sum, nil
}

func (s *countingSM) Save(w *bufio.Writer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := w.Write(binary.LittleEndian.AppendUint64(nil, s.sum)); err != nil {
		return err
	}
	return w.Flush()
}

func (s *countingSM) Load(r *bufio.Reader) error {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sum = binary.LittleEndian.Uint64(b[:])
	s.loads++
	return nil
}

func (s *countingSM) Close() error { return nil }

func (s *countingSM) state() (sum uint64, applied, loads int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sum, s.applied, s.loads
}

// startHost starts a node host on a free loopback port, closed when the
// test ends.
func startHost(t *testing.T) (*Host, string) {
	t.Helper()
	addr := freeAddr(t)
	h, err := NewHost(Config{Dir: t.TempDir(), RaftAddress: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h, addr
}

// A replica added to a group with its whole log replays every entry; one
// added after SnapshotAndCompact is built from the snapshot and applies
// only what came after it.
func TestSnapshotAndCompactCopiesBySnapshot(t *testing.T) {
	const shard, entries = 7, 300
	start := func() (*Host, string) { return startHost(t) }
	leader, leaderAddr := start()
	if err := leader.StartReplica(shard, 1, map[uint64]string{1: leaderAddr}, false, false, func() StateMachine { return &countingSM{} }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		if id, _, ok := leader.Leader(shard); ok && id == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("no leader")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := 0; i < entries; i++ {
		if _, _, err := leader.Propose(ctx, shard, []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	// addLearner adds replica id on a new host and waits until it has
	// everything the leader committed.
	addLearner := func(id uint64) *countingSM {
		h, addr := start()
		if err := leader.AddNonVoting(ctx, shard, id, addr); err != nil {
			t.Fatal(err)
		}
		sm := &countingSM{}
		if err := h.StartReplica(shard, id, nil, true, true, func() StateMachine { return sm }); err != nil {
			t.Fatal(err)
		}
		for {
			if sum, _, _ := sm.state(); sum == entries {
				return sm
			}
			if ctx.Err() != nil {
				sum, applied, loads := sm.state()
				t.Fatalf("replica %d did not catch up: sum %d of %d, %d entries applied, %d snapshots loaded", id, sum, entries, applied, loads)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	if _, applied, loads := addLearner(2).state(); loads != 0 || applied < entries {
		t.Fatalf("replica added with the whole log: %d entries applied, %d snapshots loaded; want >= %d and 0", applied, loads, entries)
	}
	idx, err := leader.SnapshotAndCompact(ctx, shard)
	if err != nil {
		t.Fatal(err)
	}
	if idx < entries {
		t.Fatalf("snapshot index %d, want >= %d", idx, entries)
	}
	_, applied, loads := addLearner(3).state()
	if loads != 1 || applied > copyLogOverhead+10 {
		t.Fatalf("replica added after SnapshotAndCompact: %d entries applied, %d snapshots loaded; want <= %d and 1", applied, loads, copyLogOverhead+10)
	}
	t.Logf("after SnapshotAndCompact (index %d) the new replica loaded the snapshot and applied %d entries", idx, applied)
}

// Membership asked of a replica that knows no leader fails at once, not
// after the caller's deadline (dragonboat drops such a read silently).
func TestMembershipWithoutLeaderFailsAtOnce(t *testing.T) {
	addr := freeAddr(t)
	h, err := NewHost(Config{Dir: t.TempDir(), RaftAddress: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	// A 2-voter group whose other member never starts: no leader, ever.
	if err := h.StartReplica(11, 1, map[uint64]string{1: addr, 2: freeAddr(t)}, false, false, func() StateMachine { return &countingSM{} }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = h.Membership(ctx, 11)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "knows no leader") {
		t.Fatalf("Membership without a leader: %v; want ErrUnavailable saying it knows no leader", err)
	}
}
