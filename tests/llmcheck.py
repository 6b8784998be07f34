#!/usr/bin/env python3
# See LICENSE file for copyright and license details.
#
# tests/llmcheck.py: small questions tests.sh asks about a mock server's
# request log (tests/mockllm.py --log) and about a process's memory.
#
#   llmcheck.py get LOG N PATH      print the value at PATH in request N's
#                                   body (N from 0; PATH like messages.2.content,
#                                   "headers.x-api-key" for a header, "path" for
#                                   the request path); strings raw, the rest
#                                   as JSON; exit 1 when absent
#   llmcheck.py count LOG           the number of requests
#   llmcheck.py rss LIMIT_KB CMD... run CMD, exit with its status; print
#                                   "peak RSS N KB" to stderr and exit 125 if
#                                   the peak RSS of CMD exceeded LIMIT_KB
import json
import resource
import subprocess
import sys


def load(log):
    with open(log, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def get(log, n, path):
    req = load(log)[int(n)]
    if path == "path":
        print(req["path"])
        return 0
    if path.startswith("headers."):
        v = req["headers"].get(path[8:])
        if v is None:
            return 1
        print(v)
        return 0
    v = req["body"]
    for p in path.split("."):
        if isinstance(v, list) and p.lstrip("-").isdigit() and \
                -len(v) <= int(p) < len(v):
            v = v[int(p)]
        elif isinstance(v, dict) and p in v:
            v = v[p]
        else:
            return 1
    print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))
    return 0


def rss(limit, cmd):
    rc = subprocess.call(cmd)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    sys.stderr.write("peak RSS %d KB\n" % peak)
    return 125 if peak > int(limit) else rc


def main(a):
    if len(a) == 4 and a[0] == "get":
        return get(a[1], a[2], a[3])
    if len(a) == 2 and a[0] == "count":
        print(len(load(a[1])))
        return 0
    if len(a) >= 3 and a[0] == "rss":
        return rss(a[1], a[2:])
    sys.stderr.write("usage: llmcheck.py get LOG N PATH | count LOG | "
                     "rss LIMIT_KB CMD...\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
