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
# Run as root (as CI does) it measures twice: as root, and as an
# ordinary user (BENCHUSER, default vtctest, made if missing as
# tests.sh makes it), which is how vtcode is meant to run: there both
# vtcode and bubblewrap make a user namespace as well.  Never fails
# because of speed.
#
# usage: sh bench/sandbox.sh [RUNS]
set -e
cd "$(dirname "$0")/.."
runs=${1:-200}
[ -x vtcode ] || ${MAKE:-make} vtcode
command -v bwrap >/dev/null || { echo "sandbox.sh: bwrap not found (apt-get install bubblewrap)" >&2; exit 1; }
ws=$(mktemp -d)
trap 'rm -rf "$ws"' EXIT
chmod 755 "$ws"
mkdir "$ws/empty" "$ws/git" "$ws/home"
git init -q "$ws/git"
cp vtcode "$ws/vtcode"  # where another user may run it
as=
user=${BENCHUSER:-vtctest}
if [ "$(id -u)" -eq 0 ]; then
	id "$user" >/dev/null 2>&1 ||
	    useradd -M -r -d /nonexistent -s /usr/sbin/nologin "$user" 2>/dev/null || :
	if id "$user" >/dev/null 2>&1; then
		chown -R "$user" "$ws/empty" "$ws/git" "$ws/home"
		as=$user
	else
		echo "sandbox.sh: no user $user: measured as root only" >&2
	fi
fi
python3 - "$runs" "$ws/vtcode" "$ws" "$as" <<'PY'
import os, random, statistics, subprocess, sys, time
runs, vt, ws, user = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
cmds = {
    "bare":       ("empty", ["/bin/true"]),
    "vtcode":     ("empty", [vt, "sandbox", "--", "/bin/true"]),
    "vtcode-git": ("git", [vt, "sandbox", "--", "/bin/true"]),
    "bwrap":      ("empty", ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev",
                             "--unshare-all", "/bin/true"]),
}
whos = [("", [], None)]
if user:
    whos = [("as root", [], None),
            ("as " + user, ["setpriv", "--reuid=" + user, "--regid=" + user,
                            "--clear-groups", "--"],
             dict(os.environ, HOME=ws + "/home",
                  XDG_CONFIG_HOME=ws + "/home/.config",
                  XDG_STATE_HOME=ws + "/home/.state"))]
t = {(w, k): [] for w, _, _ in whos for k in cmds}
# a new order each round (the same every run of the bench): whatever
# runs right after bubblewrap pays for its namespaces' teardown, which
# the kernel finishes after bwrap has exited (0.3 ms here)
rng = random.Random(1)
for i in range(runs):
    for w, pre, env in whos:
        order = list(cmds.items())
        rng.shuffle(order)
        for k, (d, argv) in order:
            s = time.perf_counter()
            r = subprocess.run(pre + argv, cwd=os.path.join(ws, d), env=env,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            t[w, k].append((time.perf_counter() - s) * 1000)
            if r.returncode != 0:
                sys.exit("sandbox.sh: %s %s exited %d" % (k, w, r.returncode))
m = {k: statistics.median(v) for k, v in t.items()}
for w, _, _ in whos:
    print("sandbox%s: /bin/true, %d runs each, medians" %
          (" " + w if w else "", runs))
    for k in cmds:
        print("%-10s %7.2f ms" % (k, m[w, k]))
    ab = m[w, "bwrap"] - m[w, "bare"]
    for k, what in (("vtcode", "empty workspace"),
                    ("vtcode-git", "git workspace, .git pinned")):
        av = m[w, k] - m[w, "bare"]
        print("added: %s %.2f ms, bwrap %.2f ms; vtcode/bwrap %.2f (%s; "
              "target <= 0.33)" % (k, av, ab, av / ab if ab > 0 else
                                   float("inf"), what))
PY
