package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
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
