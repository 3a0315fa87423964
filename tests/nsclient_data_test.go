package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/tests/cluster"
)

// The ns_client data commands, as an operator types them.
func TestNSClientDataCommands(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 1, Tablets: 3})
	run := func(cmd string, ok bool) string {
		t.Helper()
		out, err := c.NSClient(cluster.Ctx(t), cmd, "--database=demo")
		if ok && err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		if !ok && (err == nil || !strings.Contains(out, "error msg:")) {
			t.Fatalf("%s: want a failure with an error msg, got err=%v\n%s", cmd, err, out)
		}
		return out
	}
	mustContain(t, run("createdb demo", true), "Create database ok")
	mustContain(t, run("showdb", true), "demo")
	mustContain(t, run("create t1 latest:2 4 3 card:string:index ts:timestamp:ts amt:double", true), "Create table ok")
	for _, ts := range []string{"1000", "2000", "3000"} {
		mustContain(t, run("put t1 c1 "+ts+" 1.5", true), "Put ok")
	}
	out := run("scan t1 c1", true)
	rows, err := cluster.ParseTable(out)
	if err != nil || len(rows) != 2 || rows[0]["ts"] != "3000" || rows[1]["ts"] != "2000" {
		t.Fatalf("scan with latest:2 TTL: %v %v\n%s", rows, err, out)
	}
	mustContain(t, run("count t1 c1", true), "count: 2")
	out = run("get t1 c1 2000", true)
	if rows, _ := cluster.ParseTable(out); len(rows) != 1 || rows[0]["ts"] != "2000" {
		t.Fatalf("get at ts:\n%s", out)
	}
	mustContain(t, run("showschema t1", true), "latest")

	// showtable: 4 partitions × 3 replicas, one leader each, counts caught up.
	cluster.Eventually(t, 10*time.Second, "showtable reports the rows", func() error {
		rows, err := cluster.ParseTable(run("showtable t1", true))
		if err != nil {
			return err
		}
		leaders, total := 0, 0
		for _, r := range rows {
			if r["role"] == "leader" {
				leaders++
				if r["record_cnt"] != "0" {
					total++
				}
			}
		}
		if len(rows) != 12 || leaders != 4 || total != 1 {
			return errorf("rows %d leaders %d partitions with data %d", len(rows), leaders, total)
		}
		return nil
	})

	// showtablestatus: OpenMLDB's columns, Rows = the leaders' rows.
	cluster.Eventually(t, 10*time.Second, "showtablestatus", func() error {
		rows, err := cluster.ParseTable(run("showtablestatus", true))
		if err != nil {
			return err
		}
		if len(rows) != 1 || rows[0]["Table_name"] != "t1" || rows[0]["Rows"] != "2" || rows[0]["Partition"] != "4" ||
			rows[0]["Partition_unalive"] != "0" || rows[0]["Replica"] != "3" || rows[0]["Warnings"] != "-" || rows[0]["Storage_type"] != "memory" {
			return errorf("showtablestatus: %v", rows)
		}
		return nil
	})
	// gettablestatus on each tablet: 4 partitions, one leader per partition overall.
	leaders := 0
	for _, tb := range c.Tablets {
		out, err := c.Run(cluster.Ctx(t), "--role=client", "--endpoint="+tb.Endpoint, "--interactive=false", "--cmd=gettablestatus")
		if err != nil {
			t.Fatalf("gettablestatus: %v\n%s", err, out)
		}
		rows, err := cluster.ParseTable(out)
		if err != nil || len(rows) != 4 {
			t.Fatalf("gettablestatus on %s: %v\n%s", tb.Endpoint, err, out)
		}
		for _, r := range rows {
			if r["mode"] == "kTableLeader" {
				leaders++
			}
			if r["state"] != "kTableNormal" {
				t.Errorf("state %s", r["state"])
			}
		}
	}
	if leaders != 4 {
		t.Errorf("%d leaders over the tablets, want 4", leaders)
	}
	if out, err := c.Run(cluster.Ctx(t), "--role=client", "--endpoint="+c.Tablets[0].Endpoint, "--interactive=false", "--cmd=gettablestatus 99 0"); err == nil || !strings.Contains(out, "error msg") {
		t.Errorf("gettablestatus of a missing partition: %v\n%s", err, out)
	}

	// Refusals say why and change nothing.
	run("put t1 c1 notatime 1.0", false)
	run("put t1 c1 4000", false)
	run("put nosuch c1 4000 1.0", false)
	run("create t2 0 2 5 a:string:index", false) // replicanum > tablets
	run("create t3 forever:1 2 1 a:string:index", false)
	run("dropdb demo", false) // not empty
	run("frobnicate", false)
	mustContain(t, run("count t1 c1", true), "count: 2")

	mustContain(t, run("drop t1", true), "drop ok")
	mustContain(t, run("dropdb demo", true), "Drop database ok")
}
