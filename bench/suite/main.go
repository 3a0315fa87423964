package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// params size a run; --quick shrinks everything so CI can run it.
type params struct {
	Quick       bool          `json:"quick"`
	Point       time.Duration `json:"point"` // length of one measured point
	Clients     []int         `json:"clients"`
	OpenLoad    []float64     `json:"open_load"` // fractions of the best closed-loop rate
	Keys        int           `json:"keys"`
	Dist        string        `json:"dist"`
	ValueSize   int           `json:"value_size"`
	MemRows     int           `json:"mem_rows"`
	SeriesKeys  int           `json:"series_keys"`
	SeriesRows  int           `json:"series_rows"`
	FeatureKeys int           `json:"feature_keys"`
	FeatureRows int           `json:"feature_rows"`
	TTL         time.Duration `json:"ttl"`
	TTLRun      time.Duration `json:"ttl_run"`
	Fsync       bool          `json:"fsync"` // also run the fsync-on-every-commit configurations
	Upgrade     bool          `json:"upgrade"`
	// UpgradeTablets is how many tablets the rolling upgrade goes through.
	UpgradeTablets int           `json:"upgrade_tablets"`
	Settle         time.Duration `json:"settle"` // wait before reading RSS after a load
}

func main() {
	quick := flag.Bool("quick", false, "small sizes and short points (CI; under 2 minutes)")
	release := flag.String("release", "", "openmldb-go release directory (release/package.sh)")
	out := flag.String("out", "", "directory for the report, its JSON and charts")
	commit := flag.String("commit", "unknown", "commit measured (for the report)")
	systemsFlag := flag.String("systems", "openmldb,redis,etcd", "comma list of openmldb, redis, etcd")
	point := flag.Duration("point", 0, "override the length of one measured point")
	memRows := flag.Int("mem_rows", 0, "override the rows of the memory phase (and of the recovery)")
	upgradeTablets := flag.Int("upgrade_tablets", 0, "override how many tablets the rolling upgrade goes through")
	redraw := flag.String("redraw", "", "rewrite the report and charts of an earlier run's results.json into --out, measuring nothing")
	flag.Parse()
	if *redraw != "" {
		if err := redrawReport(*redraw, *out); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *release == "" || *out == "" {
		log.Fatal("usage: suite --release=DIR --out=DIR [--quick] [--commit=SHA] [--systems=openmldb,redis,etcd]")
	}
	if !fileExists(filepath.Join(*release, "bin", "openmldb")) {
		log.Fatalf("--release=%s: no bin/openmldb there (build one with release/package.sh)", *release)
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*systemsFlag, ",") {
		s = strings.TrimSpace(s)
		if s != "openmldb" && s != "redis" && s != "etcd" {
			log.Fatalf("--systems: unknown system %q (known: openmldb, redis, etcd)", s)
		}
		want[s] = true
	}
	p := params{Point: 5 * time.Second, Clients: []int{1, 16, 64}, OpenLoad: []float64{0.5, 0.8}, Keys: 100_000, Dist: "zipfian",
		ValueSize: 100, MemRows: 500_000, SeriesKeys: 1000, SeriesRows: 100, FeatureKeys: 100, FeatureRows: 1000,
		TTL: 5 * time.Second, TTLRun: 30 * time.Second, Fsync: true, Upgrade: true, UpgradeTablets: 3, Settle: 3 * time.Second}
	if *quick {
		p = params{Quick: true, Point: 300 * time.Millisecond, Clients: []int{1, 16}, OpenLoad: []float64{0.5}, Keys: 2000, Dist: "zipfian",
			ValueSize: 100, MemRows: 20_000, SeriesKeys: 50, SeriesRows: 100, FeatureKeys: 20, FeatureRows: 100,
			TTL: time.Second, TTLRun: 3 * time.Second, Fsync: false, Upgrade: true, UpgradeTablets: 1, Settle: 500 * time.Millisecond}
	}
	if *point > 0 {
		p.Point = *point
	}
	if *memRows > 0 {
		p.MemRows = *memRows
	}
	if *upgradeTablets > 0 {
		p.UpgradeTablets = min(*upgradeTablets, 3)
	}
	abs, err := filepath.Abs(*release)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	work, err := os.MkdirTemp("", "openmldb-bench-")
	if err != nil {
		log.Fatal(err)
	}
	if os.Getenv("BENCH_KEEP") == "" {
		defer os.RemoveAll(work)
	} else {
		log.Printf("BENCH_KEEP: node directories stay under %s", work)
	}
	rep := &report{Params: p, Commit: *commit, Started: time.Now().UTC(), Machine: machineFacts(abs)}
	ctx := context.Background()
	go stopOnSignal()
	b := &bench{p: p, rep: rep, work: work, release: abs, out: *out}
	var failed []string
	for _, d := range b.deployments(want) {
		log.Printf("== %s", d.name)
		if err := d.run(ctx); err != nil {
			log.Printf("%s: %v", d.name, err)
			failed = append(failed, fmt.Sprintf("%s: %v", d.name, err))
		}
	}
	rep.Failures = failed
	rep.Finished = time.Now().UTC()
	if err := rep.write(*out); err != nil {
		log.Fatal(err)
	}
	log.Printf("report: %s", filepath.Join(*out, "report.md"))
	if len(failed) > 0 || rep.errorsReachingUser() > 0 {
		log.Fatalf("benchmark incomplete: %d deployments failed, %d operations failed", len(failed), rep.errorsReachingUser())
	}
}

// onSignal holds how to stop the processes of the running deployment, so
// that an interrupted run leaves nothing behind.
var (
	onSignalMu sync.Mutex
	onSignal   []func()
)

func atInterrupt(f func()) func() {
	onSignalMu.Lock()
	defer onSignalMu.Unlock()
	onSignal = append(onSignal, f)
	n := len(onSignal) - 1
	return func() {
		onSignalMu.Lock()
		onSignal[n] = nil
		onSignalMu.Unlock()
	}
}

func stopOnSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	sig := <-ch
	log.Printf("%s: stopping the systems under test", sig)
	onSignalMu.Lock()
	for i := len(onSignal) - 1; i >= 0; i-- {
		if onSignal[i] != nil {
			onSignal[i]()
		}
	}
	os.Exit(1)
}

func redrawReport(path, out string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var r report
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if out == "" {
		return fmt.Errorf("--redraw needs --out")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	return r.write(out)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func itoa(i int) string { return strconv.Itoa(i) }
