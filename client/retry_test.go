package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/api/gen/openmldb/v1/openmldbv1connect"
	"github.com/openmldb-go/openmldb/internal/coord"
	"github.com/openmldb-go/openmldb/schema"
)

// fakeTablet answers Put as told and counts the calls.
type fakeTablet struct {
	openmldbv1connect.UnimplementedTabletHandler
	calls atomic.Int64
	put   func() error
}

func (f *fakeTablet) Put(context.Context, *connect.Request[openmldbv1.PutRequest]) (*connect.Response[openmldbv1.PutResponse], error) {
	f.calls.Add(1)
	if err := f.put(); err != nil {
		return nil, err
	}
	return connect.NewResponse(&openmldbv1.PutResponse{}), nil
}

func serve(t *testing.T, f *fakeTablet) string {
	mux := http.NewServeMux()
	mux.Handle(openmldbv1connect.NewTabletHandler(f))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// A cached leader that no longer holds the replica (removed, say) answers
// NotFound and names nobody: the client must ask the partition's other
// replicas, not keep retrying the stale one until its routing updates.
func TestCallLeaderAsksOtherReplicasWhenTheCachedLeaderIsGone(t *testing.T) {
	gone := &fakeTablet{put: func() error {
		return connect.NewError(connect.CodeNotFound, errors.New("partition replica not on this tablet"))
	}}
	leader := &fakeTablet{put: func() error { return nil }}
	follower := &fakeTablet{}
	goneEP, leaderEP := serve(t, gone), serve(t, leader)
	follower.put = func() error {
		err := connect.NewError(connect.CodeFailedPrecondition, errors.New("not leader"))
		err.Meta().Set("x-openmldb-not-leader", "1")
		err.Meta().Set("x-openmldb-leader", leaderEP)
		return err
	}
	followerEP := serve(t, follower)

	tm := &coord.TableMeta{TID: 7, Table: schema.Table{DB: "db", Name: "t", PartitionNum: 1},
		Partitions: []coord.PartitionMeta{{PID: 0, Replicas: []coord.ReplicaMeta{{Endpoint: followerEP}, {Endpoint: leaderEP}}}}}
	var retried []string // endpoint: error, as OnRetry saw them
	c := &Client{
		opts: Options{OnRetry: func(ep string, err error) {
			retried = append(retried, ep+": "+err.Error())
		}},
		http:    &http.Client{},
		tables:  map[string]*coord.TableMeta{"db.t": tm},
		leaders: map[uint64]map[string]coord.ReplicaStatus{shardOf(7, 0): {goneEP: {Endpoint: goneEP, IsLeader: true, Term: 9}}},
		tablets: map[string]openmldbv1connect.TabletClient{},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.callLeader(ctx, tm, 0, func(ctx context.Context, tc openmldbv1connect.TabletClient) error {
		_, err := tc.Put(ctx, connect.NewRequest(&openmldbv1.PutRequest{Tid: 7}))
		return err
	})
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	if n := leader.calls.Load(); n != 1 {
		t.Fatalf("leader got %d puts, want 1", n)
	}
	if n := gone.calls.Load(); n > 2 {
		t.Fatalf("the stale leader was asked %d times; the client should have gone to the other replicas", n)
	}
	// Every failed attempt reached OnRetry, with the tablet it went to.
	if int64(len(retried)) != c.Retries.Load() || len(retried) == 0 {
		t.Fatalf("OnRetry saw %d attempts (%q), Retries counted %d; want the same, at least 1 (the gone leader)", len(retried), retried, c.Retries.Load())
	}
	if !strings.HasPrefix(retried[0], goneEP+": ") || !strings.Contains(retried[0], "not on this tablet") {
		t.Errorf("first retry %q: want the gone leader %s and its error", retried[0], goneEP)
	}
}
