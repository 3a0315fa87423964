package nameserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/api/gen/openmldb/v1/openmldbv1connect"
	"github.com/openmldb-go/openmldb/internal/config"
	"github.com/openmldb-go/openmldb/internal/coord"
)

// fakeReplica answers Membership for one partition (or fails it while
// unready is set, as a group electing a leader does) and counts the
// leader transfers it is asked for.
type fakeReplica struct {
	openmldbv1connect.UnimplementedTabletHandler
	unready   atomic.Bool
	transfers atomic.Int64
	target    atomic.Uint64
}

func (f *fakeReplica) Membership(context.Context, *connect.Request[openmldbv1.MembershipRequest]) (*connect.Response[openmldbv1.MembershipResponse], error) {
	if f.unready.Load() {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("shard not ready"))
	}
	return connect.NewResponse(&openmldbv1.MembershipResponse{Voters: map[uint64]string{1: "r1", 2: "r2"}, Applied: 10, ConfigChangeId: 3}), nil
}

func (f *fakeReplica) TransferLeader(_ context.Context, req *connect.Request[openmldbv1.TransferLeaderRequest]) (*connect.Response[openmldbv1.TransferLeaderResponse], error) {
	f.transfers.Add(1)
	f.target.Store(req.Msg.TargetReplicaId)
	return connect.NewResponse(&openmldbv1.TransferLeaderResponse{}), nil
}

func serveReplica(t *testing.T, f *fakeReplica) string {
	mux := http.NewServeMux()
	mux.Handle(openmldbv1connect.NewTabletHandler(f))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startEtcd runs an embedded etcd member for the test and returns a
// nameserver Server wired to it (no campaign, no op engine).
func startEtcd(t *testing.T) *Server {
	cfg := &config.Config{Endpoint: freeAddr(t), PeerEndpoint: freeAddr(t), DataDir: t.TempDir(), LogDir: t.TempDir(), ZkRootPath: "/openmldb"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- coord.RunServer(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	cli, err := coord.Connect(ctx, []string{cfg.Endpoint}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	s := &Server{cli: cli, keys: coord.Keys{Root: cfg.ZkRootPath}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.ops = newOpEngine(s, 1, 1)
	return s
}

func putStatus(t *testing.T, s *Server, tid, pid uint32, ep string, leader bool, term uint64) {
	b, _ := json.Marshal(coord.ReplicaStatus{Endpoint: ep, IsLeader: leader, Term: term, UpdatedAt: time.Now()})
	if _, err := s.cli.Put(context.Background(), s.keys.ReplicaStatus(tid, pid, ep), string(b)); err != nil {
		t.Fatal(err)
	}
}

// Moving leadership off a migrating replica must ride out the moments
// when the other replicas cannot answer Membership (it is a linearizable
// read, so it fails while the group elects): before, the first such
// answer failed the whole kMigrateOP with "no caught-up follower", as
// seen in TestScaleOutAndIn on CI.
func TestChangeLeaderAwayWaitsOutUnreadyMembership(t *testing.T) {
	s := startEtcd(t)
	src, dst := &fakeReplica{}, &fakeReplica{}
	srcEP, dstEP := serveReplica(t, src), serveReplica(t, dst)
	const tid, pid = 7, 1
	putStatus(t, s, tid, pid, srcEP, true, 2)
	putStatus(t, s, tid, pid, dstEP, false, 2)
	pm := coord.PartitionMeta{PID: pid, Replicas: []coord.ReplicaMeta{{Endpoint: srcEP, ReplicaID: 1}, {Endpoint: dstEP, ReplicaID: 2}}}
	op := &Op{ID: 4242, Type: OpMigrate, Table: "t", TID: tid, PID: pid, Src: srcEP, Dst: "127.0.0.1:1"}
	ctx := context.Background()
	step := func(what string) bool {
		t.Helper()
		done, _, err := s.changeLeaderStep(ctx, op, pm, taskChangeLeaderAway)
		if err != nil {
			t.Fatalf("%s: the op failed: %v", what, err)
		}
		return done
	}

	dst.unready.Store(true)
	if step("no candidate answers") || src.transfers.Load() != 0 {
		t.Fatalf("moved leadership with no candidate known: transfers=%d", src.transfers.Load())
	}
	dst.unready.Store(false)
	if step("candidate answers") || src.transfers.Load() != 1 || src.target.Load() != 2 || op.Endpoint != dstEP {
		t.Fatalf("transfers=%d target=%d chosen=%q, want one transfer to replica 2 on %s", src.transfers.Load(), src.target.Load(), op.Endpoint, dstEP)
	}
	// The transfer is under way: the group elects, Membership fails, and
	// the old leader is still the one reported.
	dst.unready.Store(true)
	if step("election under way") {
		t.Fatal("done while the source still leads")
	}
	putStatus(t, s, tid, pid, srcEP, false, 3)
	putStatus(t, s, tid, pid, dstEP, true, 3)
	if !step("new leader reported") {
		t.Fatal("not done once the other replica leads")
	}

	// Nothing can take over: that is a failure, and it says why.
	putStatus(t, s, tid, pid, srcEP, true, 4)
	pm.Replicas[1].Offline = true
	op2 := &Op{ID: 4243, Type: OpMigrate, Table: "t", TID: tid, PID: pid, Src: srcEP}
	if _, _, err := s.changeLeaderStep(ctx, op2, pm, taskChangeLeaderAway); err == nil || !strings.Contains(err.Error(), "no alive voting replica") {
		t.Fatalf("want a failure naming the missing replica, got %v", err)
	}
}

// A nameserver that takes over a kChangeLeaderOP "auto" after the old
// leader asked for the transfer must keep the target the old one chose:
// before, the choice lived only in the old leader's memory, the new one
// read "auto" again, saw the moved leader, and moved it back (the tablet
// pre-upgrade was emptying led its partition again; found by
// TestOpsToolRidesANameserverFailover on CI).
func TestChangeLeaderChoiceSurvivesANameserverFailover(t *testing.T) {
	s := startEtcd(t)
	src, dst := &fakeReplica{}, &fakeReplica{}
	srcEP, dstEP := serveReplica(t, src), serveReplica(t, dst)
	const tid, pid = 8, 0
	putStatus(t, s, tid, pid, srcEP, true, 2)
	putStatus(t, s, tid, pid, dstEP, false, 2)
	pm := coord.PartitionMeta{PID: pid, Replicas: []coord.ReplicaMeta{{Endpoint: srcEP, ReplicaID: 1}, {Endpoint: dstEP, ReplicaID: 2}}}
	ctx := context.Background()
	op := &Op{ID: 4300, Type: OpChangeLeader, Table: "t", TID: tid, PID: pid, Endpoint: "auto", Tasks: tasksFor(OpChangeLeader), Status: OpDoing}
	if err := s.ops.save(ctx, op); err != nil { // as submit and the start of execute do
		t.Fatal(err)
	}
	if done, _, err := s.changeLeaderStep(ctx, op, pm, taskChangeLeader); done || err != nil || src.transfers.Load() != 1 {
		t.Fatalf("first poll: done=%v err=%v transfers=%d, want one transfer asked", done, err, src.transfers.Load())
	}
	// The old nameserver stops; the transfer completes; the new one loads
	// the op from etcd.
	resp, err := s.cli.Get(ctx, s.keys.Op(op.ID))
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("op not persisted: %v %v", resp, err)
	}
	var resumed Op
	if err := json.Unmarshal(resp.Kvs[0].Value, &resumed); err != nil {
		t.Fatal(err)
	}
	putStatus(t, s, tid, pid, srcEP, false, 3)
	putStatus(t, s, tid, pid, dstEP, true, 3)
	done, _, err := s.changeLeaderStep(ctx, &resumed, pm, taskChangeLeader)
	if !done || err != nil || dst.transfers.Load() != 0 {
		t.Fatalf("resumed op (endpoint %q): done=%v err=%v, transfers asked of the new leader %d; want done, none", resumed.Endpoint, done, err, dst.transfers.Load())
	}
}
