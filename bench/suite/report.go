package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

type systemInfo struct {
	Name       string `json:"name"`
	Durability string `json:"durability"`
	Copies     int    `json:"copies"`
}

type memResult struct {
	System          string  `json:"system"`
	Rows            int     `json:"rows"`
	Copies          int     `json:"copies"`
	RSSDelta        int64   `json:"rss_delta"`
	BytesPerRowCopy float64 `json:"bytes_per_row_copy"`
	LoadRowsPerS    float64 `json:"load_rows_per_s"`
	// AccountedPerRowCopy: openmldb's own accounting of row and index
	// bytes (showtablestatus), without the process's other memory.
	AccountedPerRowCopy float64 `json:"accounted_per_row_copy,omitempty"`
}

type ttlResult struct {
	System  string  `json:"system"`
	TTL     string  `json:"ttl"`
	OpsPerS float64 `json:"ops_per_s"`
	RSS     []int64 `json:"rss"` // one sample a second
}

type recovery struct {
	System    string  `json:"system"`
	Seconds   float64 `json:"seconds"`
	DataBytes int64   `json:"data_bytes"`
	Note      string  `json:"note"`
}

func (r recovery) perGB() float64 {
	if r.DataBytes <= 0 {
		return 0
	}
	return r.Seconds / (float64(r.DataBytes) / (1 << 30))
}

type upgradeResult struct {
	PreUpgradeSeconds  []float64 `json:"pre_upgrade_s"` // per tablet, in order
	PostUpgradeSeconds []float64 `json:"post_upgrade_s"`
	LeadersOnTablet    int       `json:"leaders_on_tablet"`
	Seconds            float64   `json:"seconds"`
	Ops                int64     `json:"ops"`
	Errors             int64     `json:"errors"`
	FirstError         string    `json:"first_error,omitempty"`
	P99Ms              float64   `json:"p99_ms"`
	BaselineGapMs      float64   `json:"baseline_gap_ms"`
	Gaps               []float64 `json:"gaps_ms"` // longest write gap per partition
	GapIntervals       []string  `json:"gap_intervals"`
	Timeline           []string  `json:"timeline"`
}

type report struct {
	Params   params            `json:"params"`
	Commit   string            `json:"commit"`
	Started  time.Time         `json:"started"`
	Finished time.Time         `json:"finished"`
	Machine  map[string]string `json:"machine"`
	Systems  []systemInfo      `json:"systems"`
	Points   []point           `json:"points"`
	Memory   []memResult       `json:"memory"`
	TTL      []ttlResult       `json:"ttl"`
	Recovery []recovery        `json:"recovery"`
	Upgrade  *upgradeResult    `json:"upgrade,omitempty"`
	Failures []string          `json:"failures,omitempty"`
}

func machineFacts(release string) map[string]string {
	m := map[string]string{"nproc": itoa(runtime.NumCPU()), "go": runtime.Version(), "redis": redisVersion()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m["kernel"] = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m["cpu"] = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m["memory"] = strings.Join(strings.Fields(strings.SplitN(string(b), "\n", 2)[0])[1:], " ")
	}
	if out, err := exec.Command(filepath.Join(release, "bin", "openmldb"), "--version").CombinedOutput(); err == nil {
		m["openmldb-go"] = strings.TrimSpace(string(out))
	}
	return m
}

func (r *report) errorsReachingUser() int64 {
	var n int64
	for _, p := range r.Points {
		n += p.Errors
	}
	if r.Upgrade != nil {
		n += r.Upgrade.Errors
	}
	return n
}

// find returns the point of system s, workload w, load l.
func (r *report) find(s, w, l string) (point, bool) {
	for _, p := range r.Points {
		if p.System == s && p.Workload == w && p.Load == l {
			return p, true
		}
	}
	return point{}, false
}

func (r *report) systemsOf(w string) []string {
	var out []string
	for _, p := range r.Points {
		if p.Workload == w && !slices.Contains(out, p.System) {
			out = append(out, p.System)
		}
	}
	return out
}

func (r *report) loadsOf(w string) []string {
	var out []string
	for _, p := range r.Points {
		if p.Workload == w && !slices.Contains(out, p.Load) {
			out = append(out, p.Load)
		}
	}
	return out
}

var workloadTitles = map[string]string{
	"W1": "put only",
	"W2": "latest row of a key",
	"W3": "95% read latest / 5% insert",
	"W4": "last 100 rows of a key (Redis ZREVRANGE, etcd prefix range with limit)",
	"W5": "steady inserts with TTL expiry",
	"W6": "deployment request: 3 windows (10 s, 1 h, 1 d), 5 aggregates (Redis and etcd: range read + the same aggregates computed in the client)",
}

func (r *report) write(dir string) error {
	if err := writeJSON(filepath.Join(dir, "results.json"), r); err != nil {
		return err
	}
	charts, err := r.charts(dir)
	if err != nil {
		return err
	}
	var b strings.Builder
	f := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	mode := "full"
	if r.Params.Quick {
		mode = "quick (--quick: tiny sizes, short points; for CI, not for conclusions)"
	}
	f("# openmldb-go benchmark: %s, commit %s\n\n", r.Started.Format("2006-01-02"), r.Commit)
	f("Produced by `bench/run.sh` (%s run, %s).\n", mode, r.Finished.Sub(r.Started).Round(time.Second))
	f("Every system ran on this machine on loopback, one after another, with the client on the same cores.\n\n")
	f("| machine | |\n|---|---|\n")
	for _, k := range []string{"cpu", "nproc", "memory", "kernel", "go", "openmldb-go", "redis"} {
		f("| %s | %s |\n", k, r.Machine[k])
	}
	f("| commit | %s |\n\n", r.Commit)
	f("Sizes: %d keys (%s), %d-byte values, %s per point, closed loop at %v clients, open loop at %v of the best closed-loop rate (latency counted from when each operation was due). ",
		r.Params.Keys, r.Params.Dist, r.Params.ValueSize, r.Params.Point, r.Params.Clients, pcts(r.Params.OpenLoad))
	f("W4: %d keys × %d rows; W6: %d keys × %d rows (one a minute); memory: %d rows under distinct keys; W5: %s TTL, %s of inserts.\n\n",
		r.Params.SeriesKeys, r.Params.SeriesRows, r.Params.FeatureKeys, r.Params.FeatureRows, r.Params.MemRows, r.Params.TTL, r.Params.TTLRun)
	if len(r.Failures) > 0 {
		f("**Failures:**\n\n")
		for _, x := range r.Failures {
			f("- %s\n", x)
		}
		f("\n")
	}
	f("## Systems\n\n| system | durability | copies of a row |\n|---|---|---|\n")
	for _, s := range r.Systems {
		f("| %s | %s | %d |\n", s.Name, s.Durability, s.Copies)
	}
	f("\n## Targets\n\n")
	r.targets(&b)
	for _, w := range []string{"W1", "W2", "W3", "W4", "W6", "W5"} {
		systems := r.systemsOf(w)
		if len(systems) == 0 {
			continue
		}
		f("\n## %s: %s\n\n", w, workloadTitles[w])
		f("| system | load | ops/s | p50 ms | p99 ms | p99.9 ms | server CPU s / M ops | errors |\n|---|---|---|---|---|---|---|---|\n")
		for _, s := range systems {
			for _, l := range r.loadsOf(w) {
				if p, ok := r.find(s, w, l); ok {
					f("| %s | %s | %.0f | %.2f | %.2f | %.2f | %.0f | %d |\n", s, l, p.OpsPerS, p.P50, p.P99, p.P999, p.CPUPerMop, p.Errors)
				}
			}
		}
		for _, c := range charts[w] {
			f("\n![%s](%s)\n", w, c)
		}
	}
	r.durability(&b)
	f("\n## Memory per stored row\n\nRSS growth of the processes that store rows while %d rows with distinct keys were loaded, divided by rows × copies.\n\n", r.Params.MemRows)
	f("| system | RSS growth MiB | copies | bytes per row per copy | storage's own accounting, bytes per row | load rows/s |\n|---|---|---|---|---|---|\n")
	for _, m := range r.Memory {
		acct := ""
		if m.AccountedPerRowCopy > 0 {
			acct = fmt.Sprintf("%.0f", m.AccountedPerRowCopy)
		}
		f("| %s | %.1f | %d | %.0f | %s | %.0f |\n", m.System, float64(m.RSSDelta)/(1<<20), m.Copies, m.BytesPerRowCopy, acct, m.LoadRowsPerS)
	}
	f("\n## W5: memory under TTL expiry\n\nRSS of the storing processes, sampled each second while 16 clients insert rows that expire after the TTL. It plateaus when the last third of the run grows less than 10%% over its start.\n\n")
	f("| system | inserts/s | RSS MiB at 1/3 | at 2/3 | at end | plateau |\n|---|---|---|---|---|---|\n")
	for _, t := range r.TTL {
		n := len(t.RSS)
		if n < 3 {
			f("| %s | %.0f | | | | too few samples |\n", t.System, t.OpsPerS)
			continue
		}
		a, m, e := t.RSS[n/3], t.RSS[2*n/3], t.RSS[n-1]
		verdict := "yes"
		if float64(e) > 1.1*float64(m) {
			verdict = "no (still growing)"
		}
		f("| %s | %.0f | %.1f | %.1f | %.1f | %s |\n", t.System, t.OpsPerS, mb(a), mb(m), mb(e), verdict)
	}
	f("\n## Recovery after kill -9\n\n| system | seconds | data MiB | seconds per GB | how measured |\n|---|---|---|---|---|\n")
	for _, x := range r.Recovery {
		f("| %s | %.2f | %.1f | %.1f | %s |\n", x.System, x.Seconds, mb(x.DataBytes), x.perGB(), x.Note)
	}
	if u := r.Upgrade; u != nil {
		g := slices.Clone(u.Gaps)
		slices.Sort(g)
		f("\n## Leader moves and a rolling upgrade (openmldb-go)\n\n")
		f("- `openmldb_ops.py --cmd=pre-upgrade` per tablet (moves every leader off it, adds temporary replicas for 1-replica partitions), seconds: **%s**; `--cmd=post-upgrade` (moves them back, removes the temporary replicas): %s. %d replicated partitions prefer tablet1. These ran while W3 did.\n",
			secs(u.PreUpgradeSeconds), secs(u.PostUpgradeSeconds), u.LeadersOnTablet)
		f("- Rolling upgrade of %d of the 3 tablets (the seed's steps per tablet: pre-upgrade, stop, swap bin, start, recoverdata, post-upgrade) while 16 clients ran W3 on the 3-replica table: %.1f s, %d operations, **%d errors reached the client**, operation p99 %.2f ms.\n",
			r.Params.UpgradeTablets, u.Seconds, u.Ops, u.Errors, u.P99Ms)
		f("- Longest gap between successful writes of a partition (%d partitions): p50 %.0f ms, p99 %.0f ms, max %.0f ms. Before the upgrade, at the same load, the longest gap was %.0f ms (W3 writes are 5%% of operations, so gaps between writes exist without any upgrade).\n",
			len(g), quantile(g, 0.5), quantile(g, 0.99), quantile(g, 1), u.BaselineGapMs)
		if u.FirstError != "" {
			f("- First error: `%s`\n", u.FirstError)
		}
		f("\nSteps (seconds since the upgrade began) and each partition's longest write gap:\n\n```\n%s\n\n%s\n```\n",
			strings.Join(u.Timeline, "\n"), strings.Join(u.GapIntervals, "\n"))
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	return nil
}

func secs(v []float64) string {
	var s []string
	for _, x := range v {
		s = append(s, fmt.Sprintf("%.2f", x))
	}
	return strings.Join(s, ", ")
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

func pcts(v []float64) string {
	var s []string
	for _, x := range v {
		s = append(s, fmt.Sprintf("%.0f%%", x*100))
	}
	return strings.Join(s, ", ")
}

// durability puts each workload's default and fsync runs side by side at
// the largest client count.
func (r *report) durability(b *strings.Builder) {
	c := r.Params.Clients[len(r.Params.Clients)-1]
	load := fmt.Sprintf("closed/%d", c)
	fmt.Fprintf(b, "\n## Durability: default configuration vs fsync on every commit (ops/s, %d clients)\n\n", c)
	fmt.Fprintf(b, "openmldb-go and etcd fsync every commit by default, so both columns are the same run for them.\n\n")
	fmt.Fprintf(b, "| system | workload | as configured by default | fsync on every commit |\n|---|---|---|---|\n")
	for _, s := range r.Systems {
		if strings.HasPrefix(s.Durability, "fsync") {
			continue
		}
		for _, w := range []string{"W1", "W2", "W3", "W4", "W6"} {
			def, ok := r.find(s.Name, w, load)
			if !ok {
				continue
			}
			fs := "not run (--quick)"
			if strings.Contains(s.Durability, "= fsync") {
				fs = fmt.Sprintf("%.0f (same run)", def.OpsPerS)
			} else if p, ok := r.find(s.Name+" (fsync)", w, load); ok {
				fs = fmt.Sprintf("%.0f", p.OpsPerS)
			}
			fmt.Fprintf(b, "| %s | %s | %.0f | %s |\n", s.Name, w, def.OpsPerS, fs)
		}
	}
}

// targets reports where each of the project's goals stands.
func (r *report) targets(b *strings.Builder) {
	fmt.Fprintf(b, "| target | measured | met |\n|---|---|---|\n")
	row := func(target, measured string, met bool) {
		v := "**no**"
		if met {
			v = "yes"
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", target, measured, v)
	}
	for _, c := range r.Params.Clients {
		l := fmt.Sprintf("closed/%d", c)
		o, ok1 := r.find("openmldb-3r", "W1", l)
		rd, ok2 := r.find("redis", "W1", l)
		e, ok3 := r.find("etcd", "W1", l)
		if ok1 && ok2 {
			row(fmt.Sprintf("W1 rows/s, 3 replicas ≥ Redis SET (%d clients)", c), fmt.Sprintf("%.0f vs %.0f: %.2f×", o.OpsPerS, rd.OpsPerS, o.OpsPerS/rd.OpsPerS), o.OpsPerS >= rd.OpsPerS)
		}
		if ok1 && ok3 {
			row(fmt.Sprintf("W1 rows/s, 3 replicas ≥ 5× etcd puts (%d clients)", c), fmt.Sprintf("%.0f vs %.0f: %.2f×", o.OpsPerS, e.OpsPerS, o.OpsPerS/e.OpsPerS), o.OpsPerS >= 5*e.OpsPerS)
		}
	}
	for _, w := range []string{"W2", "W3"} {
		for _, l := range r.loadsOf(w) {
			o, ok1 := r.find("openmldb-3r", w, l)
			rd, ok2 := r.find("redis", w, l)
			if ok1 && ok2 && rd.P99 > 0 {
				row(fmt.Sprintf("%s p99 ≤ 1.5× Redis (%s)", w, l), fmt.Sprintf("%.2f ms vs %.2f ms: %.1f×", o.P99, rd.P99, o.P99/rd.P99), o.P99 <= 1.5*rd.P99)
			}
		}
	}
	var om, rm *memResult
	for i := range r.Memory {
		switch r.Memory[i].System {
		case "openmldb-1r":
			om = &r.Memory[i]
		case "redis":
			rm = &r.Memory[i]
		}
	}
	if om != nil && rm != nil && rm.BytesPerRowCopy > 0 {
		row("bytes per row ≤ 0.7× Redis", fmt.Sprintf("%.0f B vs %.0f B: %.2f×", om.BytesPerRowCopy, rm.BytesPerRowCopy, om.BytesPerRowCopy/rm.BytesPerRowCopy), om.BytesPerRowCopy <= 0.7*rm.BytesPerRowCopy)
	}
	for _, x := range r.Recovery {
		if strings.HasPrefix(x.System, "openmldb") {
			row("recovery ≤ 2 s per GB", fmt.Sprintf("%.2f s for %.0f MiB: %.1f s/GB", x.Seconds, mb(x.DataBytes), x.perGB()), x.perGB() <= 2)
		}
	}
	if u := r.Upgrade; u != nil {
		g := slices.Clone(u.Gaps)
		slices.Sort(g)
		row("rolling upgrade: per-partition write gap p99 ≤ 50 ms", fmt.Sprintf("%.0f ms (max %.0f ms)", quantile(g, 0.99), quantile(g, 1)), quantile(g, 0.99) <= 50)
		row("rolling upgrade: 0 errors reach the user", fmt.Sprintf("%d", u.Errors), u.Errors == 0)
	}
}
