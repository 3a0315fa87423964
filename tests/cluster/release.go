package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// RepoRoot is the repository root, found from this file's location.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var (
	releaseMu    sync.Mutex
	releaseCache = map[string]string{}
)

// BuildRelease builds (once per process and version) a release directory
// stamped with version under baseDir and returns its path.
func BuildRelease(baseDir, version string) (string, error) {
	releaseMu.Lock()
	defer releaseMu.Unlock()
	if dir, ok := releaseCache[version]; ok {
		return dir, nil
	}
	dir := filepath.Join(baseDir, "release-"+version, "openmldb")
	cmd := exec.Command("bash", filepath.Join(RepoRoot(), "release", "package.sh"), dir, version)
	cmd.Dir = RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building release %s: %w\n%s", version, err, out)
	}
	// Write the fresh build back now: left to the kernel, its ~30 MB land
	// on the disk half a minute later, in the middle of a test's Raft-log
	// fsyncs (they all share this one disk).
	if err := syncTree(dir); err != nil {
		return "", fmt.Errorf("syncing release %s: %w", version, err)
	}
	releaseCache[version] = dir
	return dir, nil
}

// SyncFS writes back everything unwritten on the file systems holding dirs,
// the temp directory and the user's cache (the go build cache): one syncfs
// each. A test that measures write stalls calls it once its setup is done:
// building the releases, the build cache and the cluster's own start leave
// tens of MB the kernel would otherwise write back 30 s later, all at once,
// in the middle of the measurement, where every Raft-log fsync on this one
// shared disk waits behind it (seen as 16.8 MB written in 93 ms, with
// every partition stalled 66-96 ms, at the first tablet's restart).
func SyncFS(dirs ...string) error {
	dirs = append(dirs, os.TempDir())
	if cache, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, cache)
	}
	for _, d := range dirs {
		f, err := os.Open(d)
		if err != nil {
			continue // a directory that is not there holds nothing to write
		}
		err = unix.Syncfs(int(f.Fd()))
		f.Close()
		if err != nil {
			return fmt.Errorf("syncfs %s: %w", d, err)
		}
	}
	return nil
}

// syncTree fsyncs every regular file under dir.
func syncTree(dir string) error {
	return filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || !info.Mode().IsRegular() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

// copyTree copies a release directory; the binary is hard-linked when the
// file system allows (swapping bin/ later replaces files, never edits them).
func copyTree(src, dst string) error {
	return filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if info.Name() == "openmldb" {
			if err := os.Link(path, target); err == nil {
				return nil
			}
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
}
