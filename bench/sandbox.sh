#!/bin/sh
# See LICENSE file for copyright and license details.
#
# bench/sandbox.sh: what the sandbox costs.  Runs /bin/true bare, through
# `vtcode sandbox`, and through bubblewrap with every namespace unshared,
# the same number of times each, interleaved, and prints the medians and
# the added cost of each wrapper.  Target: vtcode's added cost at most a
# third of bubblewrap's.  vtcode runs twice: in an empty workspace, where
# there is no protected path to pin, and in a git repository, where .git
# is bound read-only as well; both in a mount namespace where all but the
# workspace, the temp dir and vtcode's own directories is read-only.
# Never fails because of speed.
#
# usage: sh bench/sandbox.sh [RUNS]
set -e
cd "$(dirname "$0")/.."
runs=${1:-200}
[ -x vtcode ] || ${MAKE:-make} vtcode
command -v bwrap >/dev/null || { echo "sandbox.sh: bwrap not found (apt-get install bubblewrap)" >&2; exit 1; }
ws=$(mktemp -d)
trap 'rm -rf "$ws"' EXIT
mkdir "$ws/empty" "$ws/git"
git init -q "$ws/git"
python3 - "$runs" "$(pwd)/vtcode" "$ws" <<'PY'
import os, statistics, subprocess, sys, time
runs, vt, ws = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cmds = {
    "bare":       ("empty", ["/bin/true"]),
    "vtcode":     ("empty", [vt, "sandbox", "--", "/bin/true"]),
    "vtcode-git": ("git", [vt, "sandbox", "--", "/bin/true"]),
    "bwrap":      ("empty", ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev",
                             "--unshare-all", "/bin/true"]),
}
t = {k: [] for k in cmds}
for i in range(runs):
    for k, (d, argv) in cmds.items():
        s = time.perf_counter()
        r = subprocess.run(argv, cwd=os.path.join(ws, d),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t[k].append((time.perf_counter() - s) * 1000)
        if r.returncode != 0:
            sys.exit("sandbox.sh: %s exited %d" % (k, r.returncode))
m = {k: statistics.median(v) for k, v in t.items()}
print("sandbox: /bin/true, %d runs each, medians" % runs)
for k in cmds:
    print("%-10s %7.2f ms" % (k, m[k]))
ab = m["bwrap"] - m["bare"]
for k, what in (("vtcode", "empty workspace"),
                ("vtcode-git", "git workspace, .git pinned")):
    av = m[k] - m["bare"]
    print("added: %s %.2f ms, bwrap %.2f ms; vtcode/bwrap %.2f (%s; "
          "target <= 0.33)" % (k, av, ab, av / ab if ab > 0 else
                               float("inf"), what))
PY
