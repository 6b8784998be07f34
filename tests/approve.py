#!/usr/bin/env python3
# See LICENSE file for copyright and license details.
#
# tests/approve.py: drive the approval prompt through a real pty.
#
# usage: approve.py UNIT WORKSPACE
#
# UNIT is tests/unit; its "gate" driver runs vtcode's policygate(): the
# table's decision, the question on /dev/tty for a Prompt, and what the
# answer is remembered as.  Each case answers one way and checks the
# outcome.  Prints "ok NAME" or "FAIL NAME: why" per check.
import json
import os
import pty
import select
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ptycheck import Checks, readuntil  # noqa: E402

unit = os.path.abspath(sys.argv[1])
ws = os.path.abspath(sys.argv[2])
cfg = os.environ["XDG_CONFIG_HOME"]

checks = Checks("approve")
report = checks.report


def gate(args, answers, env=None):
    """run unit gate ARGS on a pty, answer each question; (rc, output)"""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(ws)
        os.execve(unit, [unit, "gate"] + args, env or os.environ)
    out = b""
    for a in answers:
        out += readuntil(fd, [b"approve? ", b"tell the model: "])
        os.write(fd, a + b"\n")
    out += readuntil(fd, [b"\nallow: ", b"\ndeny: ", b"\nprompt: "])
    out += readuntil(fd, [b"\n"], 5) if not out.endswith(b"\n") else b""
    _, st = os.waitpid(pid, 0)
    try:
        while True:
            r, _, _ = select.select([fd], [], [], 0.1)
            if not r:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            out += chunk
    except OSError:
        pass
    os.close(fd)
    return os.waitstatus_to_exitcode(st), out


def typeahead(args, early, answers):
    """gate(), with early typed before the question is asked"""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(ws)
        os.execve(unit, [unit, "gate"] + args, os.environ)
    os.write(fd, early)
    out = b""
    for a in answers:
        out += readuntil(fd, [b"approve? "])
        os.write(fd, a + b"\n")
    out += readuntil(fd, [b"\nallow: ", b"\ndeny: ", b"\nprompt: "])
    _, st = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(st), out


def notty(args, env=None):
    """the same without any terminal: setsid, stdin from /dev/null"""
    p = subprocess.run(["setsid", "-w", unit, "gate"] + args, cwd=ws,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       env=env or os.environ)
    return p.returncode, p.stdout + p.stderr


store = os.path.join(cfg, "vtcode", "tool-policy.json")
if os.path.exists(store):
    os.unlink(store)

rc, out = gate(["run_command", "make test"], [b"y"])
report(b"the model asks to use run_command" in out and b"make test" in out
       and b"why: make: runs the project" in out,
       "the question shows the tool, the exact command and the reason", out)
report(rc == 0 and b"allow: make:" in out, "y: allowed once", out)
report(not os.path.exists(store), "y: nothing remembered", "file written")

rc, out = gate(["run_command", "make test"], [b"n"])
report(rc == 2 and b"the user said no" in out, "n: refused", out)

rc, out = gate(["run_command", "make test"], [b"t", b"use ninja instead"])
report(rc == 2 and b"the user said no: use ninja instead" in out,
       "t: refused, and the model is told why", out)

rc, out = gate(["run_command", "make test"], [b"s"])
report(rc == 0 and not os.path.exists(store),
       "s: allowed for this session, not written to disk", out)

# a line typed ahead, meant for the next prompt, answers nothing
rc, out = typeahead(["run_command", "make test"], b"a\n", [b"n"])
report(rc == 2 and b"the user said no" in out and not os.path.exists(store),
       "type-ahead is not an answer: the question waits for its own", out)
rc, out = gate(["run_command", "make test"], [b"yeah, go", b"yes"])
report(rc == 0 and out.count(b"approve? ") == 2,
       "an answer is a word alone ('yeah, go' is asked again), 'yes' is y",
       out)

rc, out = gate(["run_command", "make test"], [b"maybe", b"?", b"later"])
report(rc == 2 and b"no answer" in out, "three answers that are not a "
       "choice: refused", out)

rc, out = notty(["run_command", "make test"])
report(rc == 2 and b"no terminal to ask on" in out,
       "no terminal: the prompt becomes a refusal", out)

rc, out = gate(["run_command", "make test"], [b"a"])
report(rc == 0, "a: allowed", out)
ok = os.path.exists(store)
report(ok and stat.S_IMODE(os.stat(store).st_mode) == 0o600 and
       stat.S_IMODE(os.stat(os.path.dirname(store)).st_mode) == 0o700,
       "a: remembered in tool-policy.json, 0600 in a 0700 directory",
       os.path.exists(store))
if ok:
    doc = json.load(open(store))
    report({"tool": "run_command", "argv": ["make", "test"]} in
           doc.get("approvals", []), "a: the exact argv is stored", doc)

rc, out = notty(["run_command", "make test"])
report(rc == 0 and b"approved earlier" in out,
       "a remembered approval allows that exact argv without asking", out)
rc, out = notty(["run_command", "make test -j2"])
report(rc == 2 and b"no terminal" in out,
       "a remembered approval does not cover another argv", out)

# what a stage reads from a pipe decides what it does: a yes for it alone
# does not carry over to a line that feeds it, and one given for such a
# line is not remembered
rc, out = notty(["run_command", "echo x | make test"])
report(rc == 2 and b"no terminal" in out,
       "a remembered approval does not count for a stage that reads a pipe",
       out)
rc, out = notty(["run_command", "make test | cat"])
report(rc == 0 and b"approved earlier" in out,
       "control: it counts where that stage reads no pipe", out)
rc, out = gate(["run_command", "echo x | make all"], [b"a"])
report(rc == 0 and b"make reads a pipe: that yes is for this line only"
       in out, "a: allowed, and said not to be remembered for a piped stage",
       out)
doc = json.load(open(store))
report({"tool": "run_command", "argv": ["make", "all"]} not in
       doc.get("approvals", []), "a: the piped stage is not stored", doc)
rc, out = notty(["run_command", "echo x | make all"])
report(rc == 2 and b"no terminal" in out,
       "the same piped line is asked about again", out)

# a remembered yes never reaches past a deny, even one added at run time
with open(os.path.join(cfg, "vtcode", "vtcode.toml"), "w") as f:
    f.write('[commands]\nmake = "deny"\n')
rc, out = notty(["run_command", "make test"])
report(rc == 2 and b"deny by" in out,
       "a remembered approval is ignored once the row says deny", out)
os.unlink(os.path.join(cfg, "vtcode", "vtcode.toml"))

# a tampered store is ignored whole
with open(store, "w") as f:
    f.write('{"version":1,"approvals":[{"tool":"run_command"}]}\n')
os.chmod(store, 0o600)
rc, out = notty(["run_command", "make test"])
report(rc == 2 and b"not a file vtcode wrote: ignored" in out,
       "a malformed tool-policy.json is ignored with a warning", out)
os.chmod(store, 0o666)
rc, out = notty(["run_command", "make test"])
report(rc == 2 and b"writable by others: ignored" in out,
       "a tool-policy.json writable by others is ignored", out)
os.unlink(store)

# what is shown is neutralised: an escape sequence in a path is printed
# as text, never sent to the terminal
rc, out = gate(["write_file", "a\x1b[2Jb.txt", "creates 1 line"], [b"n"])
report(b"\x1b[2J" not in out and b"a\\x1b[2Jb.txt" in out,
       "escape sequences in what is shown are neutralised", out)
rc, out = gate(["write_file", "src/new.c", "creates 3 lines"], [b"a"])
rc, out = notty(["write_file", "src/new.c"])
report(rc == 0 and b"approved earlier" in out,
       "write_file: always for that tool on that path", out)
rc, out = notty(["write_file", "src/other.c"])
report(rc == 2, "write_file: not for another path", out)
rc, out = notty(["read_file", "src/a.c"])
report(rc == 0, "read_file: Allow in the table, no question", out)
os.unlink(store)
sys.exit(1 if checks.failed else 0)
