package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options describe a cluster to lay out.
type Options struct {
	Coords      int // 1 or 3
	Nameservers int
	Tablets     int
	APIServers  int
	// RootPath is --zk_root_path (default /openmldb).
	RootPath string
	// DefaultPorts uses DESIGN.md's default endpoints instead of free ports.
	DefaultPorts bool
	// ExtraFlags are appended to every node's conf of that component.
	ExtraFlags map[string][]string
	// DataDir, if set, holds what tablets and coords store (each node's
	// --db_root_path or --data_dir under DataDir/<node>), apart from the
	// node directories. See NodeDirs.
	DataDir string
}

// Cluster is a set of node directories made from one release.
type Cluster struct {
	Dir         string
	Release     string
	RootPath    string
	ZkCluster   string
	Coords      []*Node
	Nameservers []*Node
	Tablets     []*Node
	APIServers  []*Node `json:",omitempty"`
}

// Node is one node directory running one component.
type Node struct {
	Name         string
	Component    string
	Dir          string
	Endpoint     string
	RaftEndpoint string // tablets
	PeerEndpoint string // coords
	c            *Cluster
}

// All returns every node, coords first.
func (c *Cluster) All() []*Node {
	var all []*Node
	all = append(all, c.Coords...)
	all = append(all, c.Nameservers...)
	all = append(all, c.Tablets...)
	return append(all, c.APIServers...)
}

// Layout creates node directories under dir from the release directory.
func Layout(dir, release string, o Options) (*Cluster, error) {
	if o.Coords == 0 {
		o.Coords = 1
	}
	if o.RootPath == "" {
		o.RootPath = "/openmldb"
	}
	c := &Cluster{Dir: dir, Release: release, RootPath: o.RootPath}
	ports := newPortPicker(o.DefaultPorts)
	var zk, initial []string
	for i := 1; i <= o.Coords; i++ {
		n := &Node{Name: fmt.Sprintf("coord%d", i), Component: "coord", c: c,
			Endpoint: ports.next(2379 + 2*(i-1)), PeerEndpoint: ports.next(2380 + 2*(i-1))}
		c.Coords = append(c.Coords, n)
		zk = append(zk, n.Endpoint)
		initial = append(initial, n.Name+"="+n.PeerEndpoint)
	}
	c.ZkCluster = strings.Join(zk, ",")
	for i := 1; i <= o.Nameservers; i++ {
		c.Nameservers = append(c.Nameservers, &Node{Name: fmt.Sprintf("nameserver%d", i), Component: "nameserver", c: c,
			Endpoint: ports.next(7527 + i - 1)})
	}
	for i := 1; i <= o.Tablets; i++ {
		c.Tablets = append(c.Tablets, &Node{Name: fmt.Sprintf("tablet%d", i), Component: "tablet", c: c,
			Endpoint: ports.next(10921 + 2*(i-1)), RaftEndpoint: ports.next(10922 + 2*(i-1))})
	}
	for i := 1; i <= o.APIServers; i++ {
		c.APIServers = append(c.APIServers, &Node{Name: fmt.Sprintf("apiserver%d", i), Component: "apiserver", c: c,
			Endpoint: ports.next(9080 + i - 1)})
	}
	ports.release()
	for _, n := range c.All() {
		n.Dir = filepath.Join(dir, n.Name)
		if err := copyTree(release, n.Dir); err != nil {
			return nil, fmt.Errorf("laying out %s: %w", n.Name, err)
		}
		set := map[string]string{
			"endpoint":     n.Endpoint,
			"zk_cluster":   c.ZkCluster,
			"zk_root_path": c.RootPath,
		}
		switch n.Component {
		case "coord":
			if o.DataDir != "" {
				set["data_dir"] = filepath.Join(o.DataDir, n.Name, "coord_data")
			}
			set["peer_endpoint"] = n.PeerEndpoint
			set["name"] = n.Name
			if o.Coords > 1 {
				set["initial_cluster"] = strings.Join(initial, ",")
			}
		case "tablet":
			set["raft_endpoint"] = n.RaftEndpoint
			if o.DataDir != "" {
				set["db_root_path"] = filepath.Join(o.DataDir, n.Name, "db")
			}
		}
		if err := editFlags(n.FlagFile(), set, o.ExtraFlags[n.Component]); err != nil {
			return nil, err
		}
	}
	return c, c.Save()
}

// FlagFile is the node's conf/<component>.flags.
func (n *Node) FlagFile() string { return filepath.Join(n.Dir, "conf", n.Component+".flags") }

// editFlags rewrites --name=value lines of a flagfile (uncommenting or
// appending as needed) and appends extra lines.
func editFlags(path string, set map[string]string, extra []string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var out []string
	done := map[string]bool{}
	for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		trimmed := strings.TrimLeft(strings.TrimSpace(line), "# ")
		name, _, ok := strings.Cut(strings.TrimPrefix(trimmed, "--"), "=")
		if ok && strings.HasPrefix(trimmed, "--") {
			if v, want := set[name]; want {
				if !done[name] {
					out = append(out, "--"+name+"="+v)
					done[name] = true
				}
				continue
			}
		}
		out = append(out, line)
	}
	for name, v := range set {
		if !done[name] {
			out = append(out, "--"+name+"="+v)
		}
	}
	out = append(out, extra...)
	return os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o644)
}

// SetFlag rewrites (or adds) one flag in the node's flagfile.
func (n *Node) SetFlag(name, value string) error {
	return editFlags(n.FlagFile(), map[string]string{name: value}, nil)
}

// AppendFlagLine appends a raw line to the node's flagfile.
func (n *Node) AppendFlagLine(line string) error {
	return editFlags(n.FlagFile(), map[string]string{}, []string{line})
}

// Script runs bash bin/start.sh with args in the node directory and
// returns its combined output; the error is non-nil on a non-zero exit.
func (n *Node) Script(args ...string) (string, error) {
	// Deliberately not from the node dir: start.sh must find its own.
	return n.ScriptIn(n.c.Dir, args...)
}

// ScriptIn runs bin/start.sh with args from the working directory cwd.
func (n *Node) ScriptIn(cwd string, args ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{filepath.Join(n.Dir, "bin", "start.sh")}, args...)...)
	cmd.Dir = cwd
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Start runs `bin/start.sh start <component> [mon]`.
func (n *Node) Start(mon bool) error {
	args := []string{"start", n.Component}
	if mon {
		args = append(args, "mon")
	}
	out, err := n.Script(args...)
	if err != nil {
		return fmt.Errorf("start %s: %w\n%s", n.Name, err, out)
	}
	return nil
}

// Stop runs `bin/start.sh stop <component>` (SIGTERM, bounded wait).
func (n *Node) Stop() error {
	out, err := n.Script("stop", n.Component)
	if err != nil {
		return fmt.Errorf("stop %s: %w\n%s", n.Name, err, out)
	}
	return nil
}

// Restart stops and starts the node.
func (n *Node) Restart(mon bool) error {
	if err := n.Stop(); err != nil {
		return err
	}
	return n.Start(mon)
}

// readPid reads bin/<component>.pid or, with child, the .pid.child file.
func (n *Node) readPid(child bool) (int, error) {
	name := n.Component + ".pid"
	if child {
		name += ".child"
	}
	data, err := os.ReadFile(filepath.Join(n.Dir, "bin", name))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

// Pid is the component's process id: the child's under mon, else the pid file's.
func (n *Node) Pid() (int, error) {
	if pid, err := n.readPid(true); err == nil {
		return pid, nil
	}
	return n.readPid(false)
}

// MonPid is the supervisor's pid (only under mon).
func (n *Node) MonPid() (int, error) { return n.readPid(false) }

// signal sends sig to the component process.
func (n *Node) signal(sig syscall.Signal) (int, error) {
	pid, err := n.Pid()
	if err != nil {
		return 0, fmt.Errorf("%s has no pid file: %w", n.Name, err)
	}
	return pid, syscall.Kill(pid, sig)
}

// Kill sends SIGKILL to the component (not to its supervisor) and waits
// until the process is gone. The pid files stay, as after a real crash.
func (n *Node) Kill() error {
	pid, err := n.signal(syscall.SIGKILL)
	if err != nil {
		return err
	}
	return WaitGone(pid, 10*time.Second)
}

// Pause stops the process with SIGSTOP; Resume continues it.
func (n *Node) Pause() error  { _, err := n.signal(syscall.SIGSTOP); return err }
func (n *Node) Resume() error { _, err := n.signal(syscall.SIGCONT); return err }

// SwapBin does what the seed's upgrade steps do: back up bin/ as bin.bak
// (replacing an older backup) and put the other release's bin/ in place.
func (n *Node) SwapBin(release string) error {
	bak := filepath.Join(n.Dir, "bin.bak")
	_ = os.RemoveAll(bak)
	bin := filepath.Join(n.Dir, "bin")
	if err := os.Rename(bin, bak); err != nil {
		return err
	}
	if err := copyTree(filepath.Join(release, "bin"), bin); err != nil {
		return err
	}
	return nil
}

// WaitGone waits until pid no longer exists (or is a zombie of someone
// else) and none of its threads is still exiting: a killed Go process's
// main thread turns zombie while its other threads still tear down a
// large heap, and its sockets (its endpoint) stay bound until the last
// one is gone.
func WaitGone(pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !Alive(pid) && threads(pid) <= 1 {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("process %d still alive after %s", pid, timeout)
}

// threads counts the tasks /proc lists for pid (0 once it is reaped).
func threads(pid int) int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0
	}
	return len(entries)
}

// Alive reports whether pid is a live (non-zombie) process.
func Alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// state is the field after "(comm)"
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// Run starts bin/openmldb of the first node (or the release) with args and
// returns stdout+stderr; it fails on a non-zero exit.
func (c *Cluster) Run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.Release, "bin", "openmldb"), args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

// SQLClient runs statements through sql_client --interactive=false --cmd.
func (c *Cluster) SQLClient(ctx context.Context, statements string, extra ...string) (string, error) {
	args := append([]string{"--role=sql_client", "--zk_cluster=" + c.ZkCluster, "--zk_root_path=" + c.RootPath,
		"--interactive=false", "--cmd=" + statements}, extra...)
	return c.Run(ctx, args...)
}

// NSClient runs one ns_client command against the cluster.
func (c *Cluster) NSClient(ctx context.Context, command string, extra ...string) (string, error) {
	args := append([]string{"--role=ns_client", "--zk_cluster=" + c.ZkCluster, "--zk_root_path=" + c.RootPath,
		"--interactive=false", "--cmd=" + command}, extra...)
	return c.Run(ctx, args...)
}

// StartAll starts coords (concurrently: a multi-member etcd is only ready
// once a quorum runs), then nameservers, then tablets, then apiservers.
func (c *Cluster) StartAll(mon bool) error {
	for _, group := range [][]*Node{c.Coords, c.Nameservers, c.Tablets, c.APIServers} {
		if err := startConcurrently(group, mon); err != nil {
			return err
		}
	}
	return nil
}

func startConcurrently(nodes []*Node, mon bool) error {
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = n.Start(mon)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// StopAll stops every node, tablets first and coords last, and kills what
// does not stop. It is safe to call on a partly started cluster.
func (c *Cluster) StopAll() error {
	var errs []error
	for _, group := range [][]*Node{c.APIServers, c.Tablets, c.Nameservers, c.Coords} {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, n := range group {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := n.Stop(); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	return errors.Join(errs...)
}

// portPicker hands out free loopback ports, holding each open until
// release so that two picks never collide.
type portPicker struct {
	defaults bool
	held     []net.Listener
}

func newPortPicker(defaults bool) *portPicker { return &portPicker{defaults: defaults} }

func (p *portPicker) next(def int) string {
	if p.defaults {
		return fmt.Sprintf("127.0.0.1:%d", def)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("no free loopback port: %v", err))
	}
	p.held = append(p.held, ln)
	return ln.Addr().String()
}

func (p *portPicker) release() {
	for _, ln := range p.held {
		_ = ln.Close()
	}
	p.held = nil
}

// layoutFile records a layout so a later process can drive the same nodes.
const layoutFile = "cluster.json"

// Save writes the layout to <Dir>/cluster.json.
func (c *Cluster) Save() error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.Dir, layoutFile), b, 0o644)
}

// Load reads a layout saved by Save.
func Load(dir string) (*Cluster, error) {
	b, err := os.ReadFile(filepath.Join(dir, layoutFile))
	if err != nil {
		return nil, err
	}
	c := &Cluster{}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("reading %s: %w", layoutFile, err)
	}
	for _, n := range c.All() {
		n.c = c
	}
	return c, nil
}

// Ops runs the seed's command line in the node directory:
// python3 tools/openmldb_ops.py --openmldb_bin_path=./bin/openmldb --zk_cluster=... --zk_root_path=... <args>
func (n *Node) Ops(args ...string) (string, error) {
	full := append([]string{"tools/openmldb_ops.py", "--openmldb_bin_path=./bin/openmldb",
		"--zk_cluster=" + n.c.ZkCluster, "--zk_root_path=" + n.c.RootPath}, args...)
	cmd := exec.Command("python3", full...)
	cmd.Dir = n.Dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// BackupAndSwapBin does the seed's "back up the old bin, put the new bin in
// place" with cp, as an operator would.
func (n *Node) BackupAndSwapBin(release string) error {
	script := fmt.Sprintf("set -e; cd %q; rm -rf bin.bak; cp -r bin bin.bak; rm -rf bin; cp -r %q bin", n.Dir, filepath.Join(release, "bin"))
	out, err := exec.Command("bash", "-c", script).CombinedOutput()
	if err != nil {
		return fmt.Errorf("swapping bin of %s: %w\n%s", n.Name, err, out)
	}
	return nil
}
