// Package tests holds the real-process tests: every test here builds the
// release with release/package.sh, lays out node directories and drives
// them through bin/start.sh and the CLIs, as an operator would.
package tests

import (
	"os"
	"testing"

	"github.com/openmldb-go/openmldb/tests/cluster"
)

// version is stamped into the release the tests build.
const version = "1.0.0-test"

func TestMain(m *testing.M) { os.Exit(cluster.Main(m)) }
