#!/bin/sh
# See LICENSE file for copyright and license details.
#
# bench/stream.sh: streamed-answer handling against curl.  The mock server
# (tests/mockllm.py) answers every request with 50000 OpenAI chunks of
# "tok ", then [DONE]; `vtcode exec` reads, parses and prints them, curl
# only consumes the raw stream.  Both run the same number of times,
# interleaved; prints the medians, vtcode/curl (target <= 1.0) and the
# peak RSS of each (vtcode's target < 8192 KB).  Exits non-zero only when
# something is broken (the build, the mock, or vtcode printing the wrong
# text), never because of speed.
#
# usage: [RUNS=15] sh bench/stream.sh
set -e
cd "$(dirname "$0")/.."
runs=${RUNS:-15}
[ -x vtcode ] || ${MAKE:-make} vtcode
command -v curl >/dev/null || { echo "stream.sh: curl not found" >&2; exit 1; }
tmp=$(mktemp -d)
mock=
trap '[ -n "$mock" ] && kill "$mock" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
mkdir "$tmp/ws" "$tmp/home"
cat >"$tmp/script.json" <<'EOF'
{"steps": [{"sse_repeat": {"n": 50000,
  "data": "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok \"}}]}"}}],
 "repeat_last": true}
EOF
python3 tests/mockllm.py --script "$tmp/script.json" --port-file "$tmp/port" \
	--log "$tmp/log" &
mock=$!
i=0
until [ -s "$tmp/port" ]; do
	i=$((i + 1))
	[ "$i" -le 100 ] || { echo "stream.sh: the mock did not start" >&2; exit 1; }
	sleep 0.05
done
# the log grows by one line (~1.5 KB) a request: harmless
python3 - "$runs" "$(pwd)/vtcode" "$tmp" "$(cat "$tmp/port")" <<'PY'
import os, statistics, subprocess, sys, time
runs, vt, tmp, port = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
env = dict(os.environ, HOME=tmp + "/home", XDG_CONFIG_HOME=tmp + "/home/.config")
url = "http://127.0.0.1:%s/v1" % port
cmds = {
    "vtcode": [vt, "--base-url", url, "-m", "bench", "exec", "go"],
    "curl":   ["curl", "-sN", "--http1.1", "-H", "Content-Type: application/json",
               "-d", '{"model":"bench","stream":true}', url + "/chat/completions"],
}

def run(argv, out=subprocess.DEVNULL):
    r = subprocess.run(argv, cwd=tmp + "/ws", env=env, stdout=out,
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.exit("stream.sh: %s exited %d: %s" % (argv[0], r.returncode,
                 r.stderr.decode(errors="replace").strip()[-500:]))
    return r

# peak RSS in KB: GNU time if there is one, else a python parent's
# getrusage(RUSAGE_CHILDREN).  The kernel counts a child's size before
# its exec too, so that figure is never below python's own; when it is
# not above it, it says only "at most this" (exact False).
WRAP = ("import resource as R, subprocess, sys; s = R.getrusage("
        "R.RUSAGE_SELF).ru_maxrss; r = subprocess.run(sys.argv[1:]); "
        "sys.stderr.write('%d %d\\n' % (R.getrusage(R.RUSAGE_CHILDREN)"
        ".ru_maxrss, s)); sys.exit(r.returncode)")
def rss(argv, out=subprocess.DEVNULL):
    if os.access("/usr/bin/time", os.X_OK):
        f = tmp + "/rss"
        r = run(["/usr/bin/time", "-f", "%M", "-o", f] + argv, out)
        return r, int(open(f).read().split()[-1]), True
    r = run([sys.executable, "-c", WRAP] + argv, out)
    kid, own = map(int, r.stderr.split()[-2:])
    return r, kid, kid > own

# once, untimed: vtcode must print exactly the streamed text
r, peak_vt, exact_vt = rss(cmds["vtcode"], subprocess.PIPE)
want = b"tok " * 50000 + b"\n"
if r.stdout != want:
    sys.exit("stream.sh: vtcode printed %d bytes, want %d (%r ... %r)"
             % (len(r.stdout), len(want), r.stdout[:40], r.stdout[-40:]))
peak_curl, exact_curl = rss(cmds["curl"])[1:]

t = {k: [] for k in cmds}
for i in range(runs):
    for k, argv in cmds.items():
        s = time.perf_counter()
        run(argv)
        t[k].append((time.perf_counter() - s) * 1000)
m = {k: statistics.median(v) for k, v in t.items()}
print("stream: 50000 OpenAI chunks (3.0 MB), %d runs each, medians" % runs)
for k in cmds:
    print("%-7s %7.2f ms  (min %.2f, max %.2f)" % (k, m[k], min(t[k]), max(t[k])))
ratio = m["vtcode"] / m["curl"]
print("vtcode/curl %.2f (target <= 1.0): target %s"
      % (ratio, "met" if ratio <= 1.0 else "not met"))
met = "met" if peak_vt < 8192 else "not met" if exact_vt else "unknown"
print("peak RSS: vtcode %s%d KB (target < 8192 KB): target %s; curl %s%d KB"
      % ("" if exact_vt else "<= ", peak_vt, met,
         "" if exact_curl else "<= ", peak_curl))
PY
