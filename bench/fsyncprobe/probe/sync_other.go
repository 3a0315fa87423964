//go:build !linux

package probe

import "os"

func fdatasync(f *os.File) error { return f.Sync() }
