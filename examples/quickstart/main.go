// Command quickstart uses the Go SDK against a running cluster (make run):
// it creates a database and a table, writes rows and reads them back.
//
//	go run ./examples/quickstart --zk_cluster=127.0.0.1:2379
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/schema"
)

func main() {
	zk := flag.String("zk_cluster", "127.0.0.1:2379", "etcd endpoints")
	root := flag.String("zk_root_path", "/openmldb", "cluster root path")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cli, err := client.Connect(ctx, client.Options{ZkCluster: strings.Split(*zk, ","), ZkRootPath: *root})
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()

	if err := cli.CreateDatabase(ctx, "quickstart", true); err != nil {
		log.Fatal(err)
	}
	ttl := 30 * 24 * time.Hour
	err = cli.CreateTable(ctx, schema.Table{
		DB: "quickstart", Name: "transactions", PartitionNum: 4, ReplicaNum: 3,
		Columns: []schema.Column{
			{Name: "card", Type: schema.TypeString},
			{Name: "ts", Type: schema.TypeTimestamp},
			{Name: "amount", Type: schema.TypeDouble},
		},
		Indexes: []schema.Index{{Keys: []string{"card"}, TS: "ts", TTLType: schema.TTLAbsolute, AbsTTL: ttl}},
	}, client.CreateTableOptions{IfNotExists: true})
	if err != nil {
		log.Fatal(err)
	}

	now := time.Now().UnixMilli()
	rows := [][]any{{"card-1", now - 2000, 12.5}, {"card-1", now - 1000, 99.0}, {"card-2", now, 3.25}}
	if err := cli.PutBatch(ctx, "quickstart", "transactions", rows); err != nil {
		log.Fatal(err)
	}
	latest, err := cli.Get(ctx, "quickstart", "transactions", "card-1", client.ScanOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("latest row of card-1: %v\n", latest)
	all, err := cli.Scan(ctx, "quickstart", "transactions", "card-1", client.ScanOptions{Linearizable: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("card-1 has %d rows, newest first: %v\n", len(all), all)
}
