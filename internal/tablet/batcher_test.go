package tablet

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/internal/replication"
)

// fakeGroup records proposals; while gate is non-nil each proposal waits
// for it to be closed.
type fakeGroup struct {
	mu        sync.Mutex
	gate      chan struct{}
	started   chan struct{}
	proposals atomic.Int64
	inFlight  atomic.Int64
}

func (f *fakeGroup) Propose(ctx context.Context, _ uint64, _ []byte) (uint64, []byte, error) {
	f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	f.proposals.Add(1)
	f.mu.Lock()
	gate, started := f.gate, f.started
	f.mu.Unlock()
	if started != nil {
		select {
		case started <- struct{}{}:
		default:
		}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	}
	return 1, nil, nil
}

func submitAsync(b *batcher) chan putResult {
	out := make(chan putResult, 1)
	go func() {
		out <- b.submit(&putWork{ctx: context.Background(), rows: [][]byte{{1}}, ids: []requestID{{1, 1}}, done: make(chan putResult, 1)})
	}()
	return out
}

func TestBatcherPauseWaitsForTheProposalUnderWay(t *testing.T) {
	f := &fakeGroup{gate: make(chan struct{}), started: make(chan struct{}, 1)}
	b := newBatcher(f, 1, func() bool { return true }, nil)
	defer b.close()
	first := submitAsync(b)
	<-f.started // the first batch is being proposed and blocks on the gate

	paused := make(chan struct{})
	go func() { b.pause(); close(paused) }()
	select {
	case <-paused:
		t.Fatal("pause returned while a proposal was still under way")
	case <-time.After(50 * time.Millisecond):
	}
	f.mu.Lock()
	close(f.gate)
	f.gate = nil
	f.mu.Unlock()
	<-paused
	if r := <-first; r.err != nil {
		t.Fatalf("first write: %v", r.err)
	}
	if n := f.inFlight.Load(); n != 0 {
		t.Fatalf("%d proposals in flight after pause returned", n)
	}

	// Paused: a new write waits in the queue, nothing is proposed.
	before := f.proposals.Load()
	second := submitAsync(b)
	time.Sleep(50 * time.Millisecond)
	if got := f.proposals.Load(); got != before {
		t.Fatalf("%d proposals while paused, want none", got-before)
	}
	select {
	case r := <-second:
		t.Fatalf("write answered while paused: %+v", r)
	default:
	}
	b.resume()
	select {
	case r := <-second:
		if r.err != nil {
			t.Fatalf("second write: %v", r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("write not proposed after resume")
	}
}

func TestBatcherRefusesQueuedWritesOnceNotLeader(t *testing.T) {
	f := &fakeGroup{}
	var leader atomic.Bool
	leader.Store(true)
	b := newBatcher(f, 1, leader.Load, nil)
	defer b.close()
	if r := <-submitAsync(b); r.err != nil {
		t.Fatalf("write as leader: %v", r.err)
	}
	b.pause()
	queued := submitAsync(b)
	time.Sleep(20 * time.Millisecond)
	leader.Store(false) // the transfer went through while the write waited
	before := f.proposals.Load()
	b.resume()
	select {
	case r := <-queued:
		if !errors.Is(r.err, replication.ErrNotLeader) {
			t.Fatalf("queued write after losing leadership: err %v, want ErrNotLeader", r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("queued write never answered")
	}
	if got := f.proposals.Load(); got != before {
		t.Fatalf("%d writes proposed by a replica that no longer leads", got-before)
	}
}

func TestBatcherOverlappingPausesHoldUntilBothResume(t *testing.T) {
	f := &fakeGroup{}
	b := newBatcher(f, 1, func() bool { return true }, nil)
	defer b.close()
	b.pause()
	b.pause() // a second transfer attempt overlapping the first
	queued := submitAsync(b)
	b.resume() // the first attempt ends
	select {
	case r := <-queued:
		t.Fatalf("write proposed while a pause was still held: %+v", r)
	case <-time.After(50 * time.Millisecond):
	}
	b.resume()
	select {
	case r := <-queued:
		if r.err != nil {
			t.Fatalf("write after both resumes: %v", r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("write not proposed after both resumes")
	}
}

// Writes queued behind a pause go to the replica leadership is moving to
// as soon as the move is named, not when this replica hears of the new
// leader; none is proposed here.
func TestBatcherSendsHeldWritesToTheTransferTarget(t *testing.T) {
	f := &fakeGroup{}
	var target atomic.Pointer[string]
	b := newBatcher(f, 1, func() bool { return true }, func() string {
		if ep := target.Load(); ep != nil {
			return *ep
		}
		return ""
	})
	defer b.close()
	b.pause()
	defer b.resume()
	held := submitAsync(b)
	select {
	case r := <-held:
		t.Fatalf("write answered while held and no move named: %+v", r)
	case <-time.After(30 * time.Millisecond):
	}
	ep := "127.0.0.1:10923"
	target.Store(&ep)
	before := f.proposals.Load()
	select {
	case r := <-held:
		var moving *errMoving
		if !errors.As(r.err, &moving) || moving.endpoint != ep || !errors.Is(r.err, replication.ErrNotLeader) {
			t.Fatalf("held write: err %v, want a move to %s (ErrNotLeader)", r.err, ep)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("held write not sent to the transfer target")
	}
	if got := f.proposals.Load(); got != before {
		t.Fatalf("%d writes proposed by a leader handing over", got-before)
	}
}
