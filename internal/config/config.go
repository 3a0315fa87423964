package config

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ErrHelp is returned for -h/--help; main prints Help and exits 0.
var ErrHelp = errors.New("help requested")

// Help describes every role and flag.
func Help() string {
	var b strings.Builder
	b.WriteString("usage: openmldb --role=<role> [--flagfile=FILE] [--name=value ...]\n")
	b.WriteString("roles: " + strings.Join(Roles, ", ") + "\n\nflags:\n")
	fs, _ := newFlagSet(&Config{})
	fs.VisitAll(func(f *flag.Flag) {
		def := ""
		if f.DefValue != "" {
			def = " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(&b, "  --%s: %s%s\n", f.Name, f.Usage, def)
	})
	return b.String()
}

// ErrUsage marks errors in what the user typed (unknown role or flag, bad
// value, unreadable flagfile). main exits 2 on them.
var ErrUsage = errors.New("usage error")

// usageError carries a message for the user and matches ErrUsage.
type usageError struct{ err error }

func (e usageError) Error() string        { return e.err.Error() }
func (e usageError) Unwrap() error        { return e.err }
func (e usageError) Is(target error) bool { return target == ErrUsage }

// Usagef formats an error that errors.Is matches with ErrUsage, without
// prefixing the message.
func Usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// Roles lists every role the binary knows, in the order help prints them.
var Roles = []string{"coord", "nameserver", "tablet", "apiserver", "ns_client", "sql_client", "client", "mon", "ops"}

// DefaultEndpoints are the per-role defaults of DESIGN.md §1.
var DefaultEndpoints = map[string]string{
	"coord":      "127.0.0.1:2379",
	"nameserver": "127.0.0.1:7527",
	"tablet":     "127.0.0.1:10921",
	"apiserver":  "127.0.0.1:9080",
}

// Config is every flag of every role. Like OpenMLDB's gflags, all roles
// share one flag namespace, so one flagfile format serves them all; a role
// ignores the flags it has no use for.
type Config struct {
	Role    string
	Version bool

	Endpoint         string
	ZkCluster        []string
	ZkRootPath       string
	ZkSessionTimeout time.Duration
	ZkConnectTimeout time.Duration

	LogDir    string
	LogFormat string
	LogLevel  string

	// coord
	PeerEndpoint   string
	Name           string
	InitialCluster string
	DataDir        string

	// tablet
	DBRootPath   string
	RaftEndpoint string

	// nameserver
	AutoFailover           bool
	OpConcurrency          int
	OpCopyConcurrency      int
	TabletHeartbeatTimeout time.Duration
	ReplicaRestoreDelay    time.Duration

	// clients
	Interactive bool
	Cmd         string
	Database    string

	// tablet
	GCInterval time.Duration
	// StreamBandwidthLimit paces each outgoing snapshot copy (bytes/s, 0: unpaced).
	StreamBandwidthLimit int64
	// SnapshotSyncBytes: sync the Raft data's file system every this many
	// bytes of snapshot written (0: only at each file's end).
	SnapshotSyncBytes int64
	// SlowWriteThreshold: a write that spent longer than this in the
	// tablet is logged with where the time went (0: never).
	SlowWriteThreshold time.Duration

	// ops
	OpenmldbBinPath    string
	Endpoints          []string
	StatFile           string
	AllowSingleReplica bool
	DB                 string
	Filter             string

	// mon
	ChildPidFile  string
	MaxRestarts   int
	RestartWindow time.Duration

	// Args are the positional arguments (for mon: the command to supervise).
	Args []string

	// set records which flags were given explicitly.
	set map[string]bool
}

// IsSet reports whether the flag was given on the command line or in a flagfile.
func (c *Config) IsSet(name string) bool { return c.set[name] }

func newFlagSet(c *Config) (*flag.FlagSet, *rawFlags) {
	fs := flag.NewFlagSet("openmldb", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	r := &rawFlags{}
	fs.StringVar(&c.Role, "role", "", "component to run: "+strings.Join(Roles, ", "))
	fs.BoolVar(&c.Version, "version", false, "print the version and exit")
	fs.StringVar(&r.flagfile, "flagfile", "", "read flags from this file, one a line")
	fs.StringVar(&c.Endpoint, "endpoint", "", "host:port this server listens on for RPC and HTTP (or, for clients, the server to talk to)")
	fs.StringVar(&r.zkCluster, "zk_cluster", "127.0.0.1:2379", "comma list of etcd endpoints (host:port)")
	fs.StringVar(&c.ZkRootPath, "zk_root_path", "/openmldb", "key prefix of this cluster in etcd")
	fs.IntVar(&r.zkSessionTimeoutMs, "zk_session_timeout", 2000, "session (lease) TTL in milliseconds; rounded up to whole seconds, at least 2 s")
	fs.IntVar(&r.zkConnectTimeoutMs, "zk_connect_timeout", 5000, "give up reaching etcd after this many milliseconds")
	fs.StringVar(&c.LogDir, "openmldb_log_dir", "", "directory for log files (empty: stderr)")
	fs.StringVar(&c.LogFormat, "log_format", "text", "log format: text or json")
	fs.StringVar(&c.LogLevel, "log_level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.PeerEndpoint, "peer_endpoint", "127.0.0.1:2380", "coord: host:port for etcd peer traffic")
	fs.StringVar(&c.Name, "name", "", "coord: member name (default coord-<endpoint>); mon: name of the supervised component")
	fs.StringVar(&c.InitialCluster, "initial_cluster", "", "coord: name=host:port,... of every initial member (empty: single member)")
	fs.StringVar(&c.DataDir, "data_dir", "./coord_data", "coord: etcd data directory")
	fs.StringVar(&c.DBRootPath, "db_root_path", "./db", "tablet: directory for replicas, snapshots and Raft logs")
	fs.StringVar(&c.RaftEndpoint, "raft_endpoint", "127.0.0.1:10922", "tablet: host:port for Raft traffic")
	fs.BoolVar(&c.AutoFailover, "auto_failover", false, "nameserver: initial value of auto_failover (persisted in etcd; change it with confset)")
	fs.DurationVar(&c.TabletHeartbeatTimeout, "tablet_heartbeat_timeout", time.Minute, "nameserver: with auto_failover, mark a tablet's replicas not alive after it was offline this long")
	fs.DurationVar(&c.ReplicaRestoreDelay, "replica_restore_delay", 10*time.Minute, "nameserver: with auto_failover, re-create the replicas of a tablet offline this long on other tablets")
	fs.IntVar(&c.OpConcurrency, "name_server_task_concurrency", 4, "nameserver: ops run at the same time (one per partition at most)")
	fs.IntVar(&c.OpCopyConcurrency, "name_server_copy_concurrency", 1, "nameserver: of those, ops that copy a partition to a new replica (kAddReplicaOP, kMigrateOP) run at the same time")
	fs.BoolVar(&c.Interactive, "interactive", true, "clients: read commands from a prompt")
	fs.StringVar(&c.Cmd, "cmd", "", "clients: command to run when not interactive")
	fs.StringVar(&c.Database, "database", "", "clients: current database (ns_client: as after `use <db>`)")
	fs.DurationVar(&c.GCInterval, "gc_interval", 60*time.Second, "tablet: how often expired rows are removed")
	fs.Int64Var(&c.StreamBandwidthLimit, "stream_bandwidth_limit", DefaultStreamBandwidthLimit, "tablet: bytes per second each outgoing snapshot copy (a new or temporary replica) is paced to; 0: unpaced")
	fs.DurationVar(&c.SlowWriteThreshold, "slow_write_threshold", time.Second, "tablet: log every write that spent longer than this in the tablet, with the time it waited for its turn, in Raft and in all; 0: never")
	fs.Int64Var(&c.SnapshotSyncBytes, "snapshot_sync_bytes", DefaultSnapshotSyncBytes, "tablet: while a snapshot is written or received, sync the file system holding db_root_path every this many bytes, so that the final sync does not hold every Raft log commit on it; 0: sync each snapshot file only at its end")
	fs.StringVar(&c.OpenmldbBinPath, "openmldb_bin_path", "./bin/openmldb", "ops: the openmldb binary (kept for OpenMLDB compatibility)")
	fs.StringVar(&r.endpoints, "endpoints", "", "ops: comma list of tablet endpoints the command works on")
	fs.StringVar(&c.StatFile, "statfile", "", "ops: file to append pre-upgrade's plan lines to")
	fs.BoolVar(&c.AllowSingleReplica, "allow_single_replica", false, "ops: pre-upgrade leaves partitions that would lose their majority unavailable instead of adding a replica")
	fs.StringVar(&c.DB, "db", "", "ops: restrict the command to this database")
	fs.StringVar(&c.Filter, "filter", "", "ops: filter rows (op status for showopstatus, db pattern for showtablestatus)")
	fs.StringVar(&c.ChildPidFile, "child_pid_file", "", "mon: file to keep the supervised process id in")
	fs.IntVar(&c.MaxRestarts, "max_restarts", 10, "mon: give up after this many restarts within --restart_window")
	fs.DurationVar(&c.RestartWindow, "restart_window", 60*time.Second, "mon: window for --max_restarts")
	return fs, r
}

// DefaultStreamBandwidthLimit is 32 MiB/s: a 20 MB snapshot was copied
// between two idle hosts in 0.77 s at this rate, and a copy cannot take a
// whole link or disk from the other partitions' writes. (The benchmark
// runs first cited for it streamed no snapshot at all; no measurement
// shows what pacing itself gains: docs/operations/upgrade.md.)
const DefaultStreamBandwidthLimit = 32 << 20

// DefaultSnapshotSyncBytes is 1 MiB: with it the partition being copied
// stalled for 34-46 ms instead of ~120 ms (BenchmarkSnapshotWriteStall,
// docs/design/data-plane.md); 256 KiB and 4 MiB measured no better.
const DefaultSnapshotSyncBytes = 1 << 20

type rawFlags struct {
	endpoints          string
	flagfile           string
	zkCluster          string
	zkSessionTimeoutMs int
	zkConnectTimeoutMs int
}

// FlagNames returns every flag name, sorted, for error messages.
func FlagNames() []string {
	fs, _ := newFlagSet(&Config{})
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, "--"+f.Name) })
	sort.Strings(names)
	return names
}

// Parse expands --flagfile arguments in place (later flags override
// earlier ones, as in gflags), parses, applies per-role defaults and
// validates. Every error wraps ErrUsage.
func Parse(args []string) (*Config, error) {
	expanded, err := expandFlagfiles(args, 0)
	if err != nil {
		return nil, err
	}
	c := &Config{set: map[string]bool{}}
	fs, raw := newFlagSet(c)
	if err := fs.Parse(expanded); err != nil {
		return nil, translateFlagError(err)
	}
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	c.Args = fs.Args()
	if c.Version {
		return c, nil
	}
	if c.Role == "" {
		return nil, Usagef("--role is required; valid roles: %s", strings.Join(Roles, ", "))
	}
	if !contains(Roles, c.Role) {
		return nil, Usagef("unknown role %q; valid roles: %s", c.Role, strings.Join(Roles, ", "))
	}
	if !c.set["endpoint"] {
		c.Endpoint = DefaultEndpoints[c.Role]
	}
	c.ZkCluster = splitList(raw.zkCluster)
	c.Endpoints = splitList(raw.endpoints)
	c.ZkSessionTimeout = time.Duration(raw.zkSessionTimeoutMs) * time.Millisecond
	c.ZkConnectTimeout = time.Duration(raw.zkConnectTimeoutMs) * time.Millisecond
	if err := c.validate(raw); err != nil {
		return nil, Usagef("%w", err)
	}
	return c, nil
}

func (c *Config) validate(raw *rawFlags) error {
	server := c.Role == "coord" || c.Role == "nameserver" || c.Role == "tablet" || c.Role == "apiserver"
	if server || c.Endpoint != "" {
		if err := ValidateEndpoint(c.Endpoint); err != nil {
			return fmt.Errorf("--endpoint: %w", err)
		}
	}
	switch c.Role {
	case "coord":
		if err := ValidateEndpoint(c.PeerEndpoint); err != nil {
			return fmt.Errorf("--peer_endpoint: %w", err)
		}
		if c.DataDir == "" {
			return errors.New("--data_dir must not be empty")
		}
		if c.InitialCluster != "" {
			if _, err := ParseInitialCluster(c.InitialCluster); err != nil {
				return fmt.Errorf("--initial_cluster: %w", err)
			}
		}
	case "tablet":
		if err := ValidateEndpoint(c.RaftEndpoint); err != nil {
			return fmt.Errorf("--raft_endpoint: %w", err)
		}
		if c.RaftEndpoint == c.Endpoint {
			return errors.New("--raft_endpoint must differ from --endpoint")
		}
		if c.DBRootPath == "" {
			return errors.New("--db_root_path must not be empty")
		}
		if c.StreamBandwidthLimit < 0 {
			return fmt.Errorf("--stream_bandwidth_limit must be 0 (unpaced) or a positive number of bytes per second, got %d", c.StreamBandwidthLimit)
		}
		if c.SlowWriteThreshold < 0 {
			return fmt.Errorf("--slow_write_threshold must be 0 (off) or a positive duration such as 200ms, got %s", c.SlowWriteThreshold)
		}
		if c.SnapshotSyncBytes < 0 {
			return fmt.Errorf("--snapshot_sync_bytes must be 0 (sync at each file's end only) or a positive number of bytes, got %d", c.SnapshotSyncBytes)
		}
	case "mon":
		if len(c.Args) == 0 {
			return errors.New("mon needs the command to supervise after --, e.g. --role=mon -- bin/openmldb --flagfile=conf/tablet.flags")
		}
		if c.MaxRestarts < 1 || c.RestartWindow <= 0 {
			return errors.New("--max_restarts and --restart_window must be positive")
		}
	}
	if c.Role != "coord" && c.Role != "mon" {
		if len(c.ZkCluster) == 0 {
			return errors.New("--zk_cluster must name at least one etcd endpoint")
		}
		for _, ep := range c.ZkCluster {
			if err := ValidateEndpoint(ep); err != nil {
				return fmt.Errorf("--zk_cluster: %w", err)
			}
		}
		if !strings.HasPrefix(c.ZkRootPath, "/") || (len(c.ZkRootPath) > 1 && strings.HasSuffix(c.ZkRootPath, "/")) {
			return fmt.Errorf("--zk_root_path %q must start with / and not end with /", c.ZkRootPath)
		}
	}
	if raw.zkSessionTimeoutMs <= 0 || raw.zkConnectTimeoutMs <= 0 {
		return errors.New("--zk_session_timeout and --zk_connect_timeout must be positive (milliseconds)")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log_format %q: want text or json", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("--log_level %q: want debug, info, warn or error", c.LogLevel)
	}
	return nil
}

// ValidateEndpoint checks host:port with a non-empty host and a port in 1..65535.
func ValidateEndpoint(ep string) error {
	host, port, err := net.SplitHostPort(ep)
	if err != nil {
		return fmt.Errorf("malformed endpoint %q: want host:port", ep)
	}
	if host == "" {
		return fmt.Errorf("malformed endpoint %q: empty host", ep)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("malformed endpoint %q: port must be 1..65535", ep)
	}
	return nil
}

// ParseInitialCluster parses name=host:port,... into ordered pairs.
func ParseInitialCluster(s string) ([][2]string, error) {
	var out [][2]string
	seen := map[string]bool{}
	for _, part := range splitList(s) {
		name, ep, ok := strings.Cut(part, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("entry %q: want name=host:port", part)
		}
		ep = strings.TrimPrefix(ep, "http://")
		if err := ValidateEndpoint(ep); err != nil {
			return nil, fmt.Errorf("entry %q: %w", part, err)
		}
		if seen[name] {
			return nil, fmt.Errorf("member name %q appears twice", name)
		}
		seen[name] = true
		out = append(out, [2]string{name, ep})
	}
	if len(out) == 0 {
		return nil, errors.New("no members")
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func translateFlagError(err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		name = strings.TrimLeft(name, "-")
		return Usagef("unknown flag --%s; valid flags: %s", name, strings.Join(FlagNames(), " "))
	}
	if errors.Is(err, flag.ErrHelp) {
		return ErrHelp
	}
	return Usagef("%s", msg)
}

const maxFlagfileDepth = 8

// expandFlagfiles replaces each --flagfile=F (or --flagfile F) with the
// flags read from F, so that order decides which value wins. Arguments
// after a bare "--" are left alone: they belong to a supervised command.
func expandFlagfiles(args []string, depth int) ([]string, error) {
	if depth > maxFlagfileDepth {
		return nil, Usagef("--flagfile nested more than %d deep", maxFlagfileDepth)
	}
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "flagfile" {
			out = append(out, a)
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, Usagef("--flagfile needs a file name")
			}
			i++
			value = args[i]
		}
		lines, err := readFlagfile(value)
		if err != nil {
			return nil, err
		}
		sub, err := expandFlagfiles(lines, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

func readFlagfile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Usagef("cannot read flagfile: %w", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasPrefix(line, "-") {
			return nil, Usagef("flagfile %s line %d: %q is not a flag (want --name=value)", path, n, line)
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		return nil, Usagef("reading flagfile %s: %w", path, err)
	}
	return lines, nil
}
