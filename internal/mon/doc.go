// Package mon owns --role=mon, the supervisor behind `bin/start.sh start
// <component> mon`: it runs one command, keeps its pid in --child_pid_file,
// restarts it when it exits (short backoff), gives up after --max_restarts
// within --restart_window or on a usage error (exit status 2, which a
// restart cannot fix), and on SIGTERM stops the child and then itself.
// If mon itself is killed -9 the child keeps running unsupervised.
package mon
