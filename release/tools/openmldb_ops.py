#!/usr/bin/env python3
"""openmldb-go operations tool: runs `<--openmldb_bin_path> --role=ops` with
every argument passed through, so OpenMLDB's documented command lines work
unchanged. Exits with the tool's exit status."""
import os
import subprocess
import sys


def main():
    binary = "./bin/openmldb"
    for arg in sys.argv[1:]:
        if arg.startswith("--openmldb_bin_path="):
            binary = arg.split("=", 1)[1]
    args = sys.argv[1:]
    if not os.path.exists(binary):
        sys.stderr.write("openmldb_ops.py: --openmldb_bin_path %s does not exist\n" % binary)
        return 2
    return subprocess.call([binary, "--role=ops"] + args)


if __name__ == "__main__":
    sys.exit(main())
