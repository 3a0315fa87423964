package tests

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/openmldb-go/openmldb/tests/cluster"
)

func etcdClient(t *testing.T, eps ...string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Three coord members on loopback form one etcd cluster that survives the
// loss of one member, and the other components work against all three.
func TestCoordThreeMembers(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Coords: 3, Nameservers: 1, Tablets: 1})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	members, err := etcdClient(t, c.Coords[0].Endpoint).MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(members.Members) != 3 {
		t.Fatalf("cluster has %d members, want 3", len(members.Members))
	}
	if _, err := etcdClient(t, c.Coords[0].Endpoint).Put(ctx, "/test/k", "v1"); err != nil {
		t.Fatal(err)
	}
	got, err := etcdClient(t, c.Coords[2].Endpoint).Get(ctx, "/test/k")
	if err != nil || len(got.Kvs) != 1 || string(got.Kvs[0].Value) != "v1" {
		t.Fatalf("read via member 3: %v %v", got, err)
	}

	if err := c.Coords[2].Stop(); err != nil {
		t.Fatal(err)
	}
	two := etcdClient(t, c.Coords[0].Endpoint, c.Coords[1].Endpoint)
	if _, err := two.Put(ctx, "/test/k", "v2"); err != nil {
		t.Fatalf("write with one member down: %v", err)
	}
	got, err = etcdClient(t, c.Coords[1].Endpoint).Get(ctx, "/test/k")
	if err != nil || string(got.Kvs[0].Value) != "v2" {
		t.Fatalf("read with one member down: %v %v", got, err)
	}
	// The nameserver and tablet still work through the remaining members.
	cluster.Eventually(t, 15*time.Second, "showtablet with one coord down", func() error {
		m, err := tabletStates(t, c)
		if err != nil {
			return err
		}
		if m[c.Tablets[0].Endpoint]["state"] != "kHealthy" {
			return fmt.Errorf("tablet: %v", m)
		}
		return nil
	})
	// The stopped member rejoins from its data dir.
	if err := c.Coords[2].Start(false); err != nil {
		t.Fatal(err)
	}
	got, err = etcdClient(t, c.Coords[2].Endpoint).Get(ctx, "/test/k")
	if err != nil || string(got.Kvs[0].Value) != "v2" {
		t.Fatalf("rejoined member reads %v %v", got, err)
	}
}
