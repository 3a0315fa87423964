package tests

import (
	"fmt"
	"net"
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
