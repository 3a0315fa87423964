// Package buildinfo holds the version and commit stamped into the binary at
// build time (go build -ldflags "-X ...Version=... -X ...Commit=...").
// It owns nothing else.
package buildinfo

import (
	"fmt"
	"runtime"
)

// Set by the linker; the defaults mark an unstamped development build.
var (
	Version = "0.0.0-dev"
	Commit  = "unknown"
)

// String is the one-line form printed by --version.
func String() string {
	return fmt.Sprintf("openmldb version %s (%s, %s)", Version, Commit, runtime.Version())
}
