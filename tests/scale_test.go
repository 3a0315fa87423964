package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/tests/cluster"
)

func replicaCount(cli *client.Client, ep string) int {
	n := 0
	for _, tm := range cli.Tables("") {
		for _, p := range tm.Partitions {
			for _, r := range p.Replicas {
				if r.Endpoint == ep {
					n++
				}
			}
		}
	}
	return n
}

// scaleout onto a new tablet, then scalein off it, through the ops tool.
func TestScaleOutAndIn(t *testing.T) {
	c := cluster.New(t, version, cluster.Options{Nameservers: 1, Tablets: 4})
	newcomer := c.Tablets[3]
	c.Tablets = c.Tablets[:3]
	if err := c.StartAll(false); err != nil {
		t.Fatal(err)
	}
	c.Tablets = append(c.Tablets, newcomer)
	cli := connectSDK(t, c)
	ctx := cluster.Ctx(t)
	if err := cli.CreateDatabase(ctx, "db", false); err != nil {
		t.Fatal(err)
	}
	if err := cli.CreateTable(ctx, eventTable("db", "t", 6, 2), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
		t.Fatal(err)
	}
	ws := startWriters(t, cli, "db", []string{"t"}, 0, 4)
	if err := newcomer.Start(false); err != nil {
		t.Fatal(err)
	}
	out, err := newcomer.Ops("--cmd=scaleout")
	if err != nil {
		t.Fatalf("scaleout: %v\n%s", err, out)
	}
	t.Logf("%s", lastLine(out))
	cluster.Eventually(t, 10*time.Second, "newcomer holds replicas", func() error {
		if n := replicaCount(cli, newcomer.Endpoint); n < 2 {
			return errorf("newcomer holds %d replicas", n)
		}
		return nil
	})
	// Refused: two of four tablets cannot hold 2 replicas... they can; three leaving cannot.
	out, err = newcomer.Ops("--cmd=scalein", "--endpoints="+c.Tablets[0].Endpoint+","+c.Tablets[1].Endpoint+","+c.Tablets[2].Endpoint)
	if err == nil || !strings.Contains(out, "refused") {
		t.Fatalf("scalein leaving one tablet for 2 replicas: err=%v\n%s", err, out)
	}
	out, err = newcomer.Ops("--cmd=scalein", "--endpoints="+newcomer.Endpoint)
	if err != nil {
		t.Fatalf("scalein: %v\n%s", err, out)
	}
	t.Logf("%s", lastLine(out))
	cluster.Eventually(t, 10*time.Second, "newcomer empty", func() error {
		if n := replicaCount(cli, newcomer.Endpoint); n != 0 {
			return errorf("newcomer still holds %d replicas", n)
		}
		return nil
	})
	ws.stopAndWait()
	if ws.errs.Load() > 0 {
		t.Errorf("writers saw %d errors: %v", ws.errs.Load(), ws.lastErr.Load())
	}
	verifyAcked(t, cli, "db", ws, 4)
	verifyReplicasIdentical(t, c, cli, "db")
}
