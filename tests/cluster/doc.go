// Package cluster is the real-process test harness: it builds release
// directories (release/package.sh, the same script `make release` runs),
// lays out node directories from them with loopback ports and their own
// conf, and drives them the way an operator does, through bin/start.sh.
// Helpers stop (SIGTERM), kill (-9), pause (SIGSTOP/SIGCONT), restart and
// swap a node's bin/ for another release's. `make run` uses the same layout
// (cmd/localcluster). It never runs anything but loopback servers.
package cluster
