#!/usr/bin/env python3
"""openmldb-go operations tool: runs `<--openmldb_bin_path> --role=ops` with
every argument passed through, so OpenMLDB's documented command lines work
unchanged. Exits with the tool's exit status."""
import os
import sys


def main():
    binary = "./bin/openmldb"
    for arg in sys.argv[1:]:
        if arg.startswith("--openmldb_bin_path="):
            binary = arg.split("=", 1)[1]
    if not os.path.exists(binary):
        sys.stderr.write("openmldb_ops.py: --openmldb_bin_path %s does not exist\n" % binary)
        return 2
    sys.stdout.flush()
    try:
        # exec, not a child process: the tool's output, signals and exit
        # status are the caller's directly, and no Python waits beside it
        # (importing subprocess alone costs ~25 ms of CPU on a busy node).
        os.execv(binary, [binary, "--role=ops"] + sys.argv[1:])
    except OSError as e:
        sys.stderr.write("openmldb_ops.py: cannot run %s: %s\n" % (binary, e.strerror))
        return 2


if __name__ == "__main__":
    sys.exit(main())
