package coord

import (
	"strings"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/internal/config"
)

func TestKeys(t *testing.T) {
	k := Keys{Root: "/openmldb"}
	if k.TabletAlive("127.0.0.1:1") != "/openmldb/nodes/127.0.0.1:1" || k.LeaderPrefix() != "/openmldb/leader" {
		t.Fatal(k.TabletAlive("127.0.0.1:1"), k.LeaderPrefix())
	}
	if (Keys{Root: "/"}).TabletRecord("e") != "/tablets/e" {
		t.Fatal((Keys{Root: "/"}).TabletRecord("e"))
	}
}

func TestLeaseTTL(t *testing.T) {
	for d, want := range map[time.Duration]int{time.Millisecond: 2, 2 * time.Second: 2, 2001 * time.Millisecond: 3, 10 * time.Second: 10} {
		if got := LeaseTTLSeconds(d); got != want {
			t.Errorf("%s: %d want %d", d, got, want)
		}
	}
}

func TestMemberName(t *testing.T) {
	base := config.Config{Endpoint: "127.0.0.1:2379", PeerEndpoint: "127.0.0.1:2382",
		InitialCluster: "c1=127.0.0.1:2380,c2=127.0.0.1:2382"}
	c := base
	if n, err := MemberName(&c); err != nil || n != "c2" {
		t.Fatalf("by peer endpoint: %s %v", n, err)
	}
	c.Name = "c1"
	if _, err := MemberName(&c); err == nil || !strings.Contains(err.Error(), "peer endpoint") {
		t.Fatalf("mismatched name accepted: %v", err)
	}
	c.Name = "c9"
	if _, err := MemberName(&c); err == nil || !strings.Contains(err.Error(), "not a member") {
		t.Fatalf("unknown name accepted: %v", err)
	}
	c = base
	c.InitialCluster = ""
	if n, _ := MemberName(&c); n != "coord-127.0.0.1-2379" {
		t.Fatal(n)
	}
}
