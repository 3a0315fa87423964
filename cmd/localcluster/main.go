// Command localcluster lays out and starts a local openmldb-go cluster from
// a release directory (what `make run` does), or stops it (`make stop`).
// It is a developer convenience: each node is an ordinary node directory
// driven by its bin/start.sh, so everything it does an operator can do by hand.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/openmldb-go/openmldb/tests/cluster"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "up" && os.Args[1] != "down") {
		fmt.Fprintln(os.Stderr, "usage: localcluster up|down [--release=dist/openmldb] [--dir=run] [--free_ports]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("localcluster", flag.ExitOnError)
	release := fs.String("release", "dist/openmldb", "release directory (make release)")
	dir := fs.String("dir", "run", "directory for the node directories")
	freePorts := fs.Bool("free_ports", false, "use free loopback ports instead of the default endpoints")
	_ = fs.Parse(os.Args[2:])
	var err error
	if os.Args[1] == "up" {
		err = up(*release, *dir, *freePorts)
	} else {
		err = down(*dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		os.Exit(1)
	}
}

var layout = cluster.Options{Coords: 1, Nameservers: 2, Tablets: 3, APIServers: 1}

func up(release, dir string, freePorts bool) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	c, err := cluster.Load(abs)
	if errors.Is(err, os.ErrNotExist) {
		rel, err := filepath.Abs(release)
		if err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join(rel, "bin", "openmldb")); err != nil {
			return fmt.Errorf("no release at %s (run make release): %w", release, err)
		}
		o := layout
		o.DefaultPorts = !freePorts
		if c, err = cluster.Layout(abs, rel, o); err != nil {
			return err
		}
	} else if err != nil {
		return err
	} else {
		fmt.Printf("restarting the existing cluster under %s/ with its data (make clean removes it)\n", dir)
	}
	if err := c.StartAll(false); err != nil {
		_ = c.StopAll()
		return fmt.Errorf("%w\n(if a port is taken, stop what holds it, or `make clean` and use: go run ./cmd/localcluster up --free_ports)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	fmt.Printf("openmldb-go cluster running under %s/ (1 coord, 2 nameservers, 3 tablets, 1 apiserver)\n\n", dir)
	for _, cmd := range []string{"showns", "showtablet"} {
		var out string
		for ctx.Err() == nil {
			if out, err = c.NSClient(ctx, cmd); err == nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		fmt.Printf("$ ns_client --cmd=%s\n%s\n", cmd, out)
	}
	fmt.Printf("Reach it with:\n  %s/bin/openmldb --role=ns_client --zk_cluster=%s --zk_root_path=%s\n",
		release, c.ZkCluster, c.RootPath)
	fmt.Printf("  %s/bin/openmldb --role=sql_client --zk_cluster=%s --zk_root_path=%s\n", release, c.ZkCluster, c.RootPath)
	if len(c.APIServers) > 0 {
		fmt.Printf("  curl http://%s/dbs   (REST API)\n", c.APIServers[0].Endpoint)
	}
	fmt.Printf("Each node is a directory with bin/start.sh, e.g. bash %s/tablet1/bin/start.sh stop tablet\n", dir)
	fmt.Println("Stop everything with: make stop (data stays under " + dir + "/; make clean removes it)")
	return nil
}

func down(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	c, err := cluster.Load(abs)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Println("no local cluster under", dir)
		return nil
	}
	if err != nil {
		return err
	}
	if err := c.StopAll(); err != nil {
		return err
	}
	fmt.Printf("stopped every node under %s/ (data kept; make clean removes it)\n", dir)
	return nil
}
