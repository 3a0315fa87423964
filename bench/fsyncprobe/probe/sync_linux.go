package probe

import (
	"os"
	"syscall"
)

// fdatasync is what a Raft log's commit costs: data and the size, not the
// times.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
