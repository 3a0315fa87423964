package tests

import (
	"fmt"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/tests/cluster"
)

func tabletStates(t *testing.T, c *cluster.Cluster) (map[string]map[string]string, error) {
	out, err := c.NSClient(cluster.Ctx(t), "showtablet")
	if err != nil {
		return nil, fmt.Errorf("showtablet: %w: %s", err, out)
	}
	rows, err := cluster.ParseTable(out)
	if err != nil {
		return nil, err
	}
	m := map[string]map[string]string{}
	for _, r := range rows {
		m[r["endpoint"]] = r
	}
	return m, nil
}

func waitTabletState(t *testing.T, c *cluster.Cluster, ep, state string, timeout time.Duration) time.Duration {
	t.Helper()
	return cluster.Eventually(t, timeout, ep+" "+state, func() error {
		m, err := tabletStates(t, c)
		if err != nil {
			return err
		}
		if m[ep]["state"] != state {
			return fmt.Errorf("%s is %q", ep, m[ep]["state"])
		}
		return nil
	})
}

func TestTabletMembership(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 1, Tablets: 3})
	cluster.Eventually(t, 10*time.Second, "3 healthy tablets", func() error {
		m, err := tabletStates(t, c)
		if err != nil {
			return err
		}
		if len(m) != 3 {
			return fmt.Errorf("%d tablets listed", len(m))
		}
		for _, tb := range c.Tablets {
			r := m[tb.Endpoint]
			if r["state"] != "kHealthy" || r["version"] != version {
				return fmt.Errorf("tablet %s: %v", tb.Endpoint, r)
			}
		}
		return nil
	})

	victim := c.Tablets[1]
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	took := waitTabletState(t, c, victim.Endpoint, "kOffline", 10*time.Second)
	t.Logf("tablet kOffline %s after kill -9 (lease TTL 2s)", took.Round(time.Millisecond))
	if took > 5*time.Second {
		t.Errorf("kOffline took %s, lease TTL is 2s", took)
	}
	for _, other := range []*cluster.Node{c.Tablets[0], c.Tablets[2]} {
		waitTabletState(t, c, other.Endpoint, "kHealthy", time.Second)
	}

	// start.sh finds the stale pid file of the killed process and starts anew.
	if err := victim.Start(false); err != nil {
		t.Fatal(err)
	}
	waitTabletState(t, c, victim.Endpoint, "kHealthy", 10*time.Second)

	// SIGTERM deregisters at once, without waiting for the lease.
	start := time.Now()
	if err := victim.Stop(); err != nil {
		t.Fatal(err)
	}
	waitTabletState(t, c, victim.Endpoint, "kOffline", 3*time.Second)
	t.Logf("tablet kOffline %s after SIGTERM", time.Since(start).Round(time.Millisecond))
}
