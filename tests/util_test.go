package tests

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"testing"

	"github.com/openmldb-go/openmldb/tests/cluster"
)

func killPid(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return err
	}
	return cluster.WaitGone(pid, 5e9)
}

// freePort returns a loopback host:port nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// statusVersion reads the version from a server's /status.
func statusVersion(ep string) string {
	resp, err := http.Get("http://" + ep + "/status")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var st struct {
		Version string `json:"version"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&st)
	return st.Version
}

// showNSVersions is showNS checking for the new version.
func showNSVersions(t *testing.T, c *cluster.Cluster) (string, []string, error) {
	out, err := c.NSClient(cluster.Ctx(t), "showns")
	if err != nil {
		return "", nil, fmt.Errorf("showns: %w: %s", err, out)
	}
	rows, err := cluster.ParseTable(out)
	if err != nil {
		return "", nil, err
	}
	lead := ""
	var standbys []string
	for _, r := range rows {
		if r["version"] != newVersion {
			return "", nil, fmt.Errorf("nameserver %s reports %s", r["endpoint"], r["version"])
		}
		if r["role"] == "leader" {
			lead = r["endpoint"]
		} else {
			standbys = append(standbys, r["endpoint"])
		}
	}
	return lead, standbys, nil
}
