package main

import (
	"os"
	"testing"
)

func TestProcStatSelf(t *testing.T) {
	x := 0
	for i := 0; i < 50_000_000; i++ {
		x += i
	}
	_ = x
	cpu, err := cpuSeconds(os.Getpid())
	if err != nil || cpu <= 0 {
		t.Fatalf("cpuSeconds(self) = %v, %v; want > 0 after a busy loop", cpu, err)
	}
	rss, err := rssBytes(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Fatalf("rssBytes(self) = %d, %v; want at least 1 MiB", rss, err)
	}
}
