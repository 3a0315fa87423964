// Command fsyncprobe measures a disk's fdatasync latency the way a Raft log
// uses it: each writer appends a small block to its own file and syncs it,
// over and over. It prints the latency distribution and, for the slow
// syncs, where in each 100 ms of wall-clock time they started, because a
// disk that is throttled by its host stalls on a fixed period (see
// docs/operations/upgrade.md, "Why the machine alone sees those gaps").
//
//	go run ./bench/fsyncprobe --dir=/var/lib/openmldb --writers=3 --duration=5s
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/openmldb-go/openmldb/bench/fsyncprobe/probe"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fsyncprobe:", err)
		os.Exit(2)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("fsyncprobe", flag.ContinueOnError)
	var cfg probe.Config
	fs.StringVar(&cfg.Dir, "dir", "", "directory on the disk to test (required); the probe's files are removed afterwards")
	fs.IntVar(&cfg.Writers, "writers", 3, "concurrent writers, each with its own file (a tablet's log shards, its peers on the same disk)")
	fs.DurationVar(&cfg.Duration, "duration", 5e9, "how long to run")
	fs.IntVar(&cfg.Block, "block", 4096, "bytes appended before each sync")
	fs.DurationVar(&cfg.Slow, "slow", 5e6, "a sync at least this long counts as slow")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	res, err := probe.Run(cfg)
	if err != nil {
		return err
	}
	res.Print(out)
	return nil
}
