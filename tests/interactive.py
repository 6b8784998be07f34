#!/usr/bin/env python3
# See LICENSE file for copyright and license details.
#
# tests/interactive.py: the interactive session through a real pty.
#
# usage: interactive.py VTCODE WORKSPACE MOCKPORT MOCKLOG
#
# The mock server (started by tests.sh) answers: "first answer" to the
# first prompt, a stream that never ends to the second, "third answer"
# to the third.  The session must stream the first answer, cancel the
# second turn on Ctrl-C without ending, carry the conversation into the
# third request (without the cancelled turn) and end on Ctrl-D with
# status 0; a second session ends on SIGTERM with status 0.  Prints "ok NAME" or "FAIL NAME: why" per check.
import json
import os
import pty
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ptycheck import Checks, readuntil  # noqa: E402

vt, ws, port, log = sys.argv[1:5]

checks = Checks("interactive")
report = checks.report


def spawn():
    """vtcode's interactive session on a new pty: (pid, master fd)"""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(ws)
        os.execv(vt, [vt, "--base-url", "http://127.0.0.1:%s/v1" % port,
                      "-m", "test"])
    return pid, fd


def waitexit(pid, fd, secs):
    """the wait status of pid within secs, else None (pid killed)"""
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid:
            return st
        readuntil(fd, b"\0", 0.2)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return None


pid, fd = spawn()
out = readuntil(fd, b"> ")
report(b"Ctrl-C cancels a turn" in out, "a banner, then the prompt", out)
os.write(fd, b"hello\n")
out = readuntil(fd, b"> ")
report(b"first answer" in out, "the first answer streams to the terminal",
       out)
os.write(fd, b"go on\n")
out = readuntil(fd, b"xxx")
report(b"xxx" in out, "the second answer is streaming", out)
os.write(fd, b"\x03")
out = readuntil(fd, b"> ")
report(b"[cancelled]" in out, "Ctrl-C cancels the turn, the session goes on",
       out)
os.write(fd, b"again\n")
out = readuntil(fd, b"> ")
report(b"third answer" in out, "the next turn works", out)
os.write(fd, b"\x04")
status = waitexit(pid, fd, 10)
report(status is not None and os.WIFEXITED(status) and
       os.WEXITSTATUS(status) == 0, "Ctrl-D ends the session, exit 0",
       repr(status))
with open(log, encoding="utf-8") as f:
    reqs = [json.loads(line) for line in f if line.strip()]
msgs = reqs[-1]["body"]["messages"] if reqs else []
said = [m.get("content") for m in msgs]
report(len(reqs) == 3 and said[1:] == ["hello", "first answer", "again"],
       "the third request carries the conversation, not the cancelled turn",
       said)

# SIGTERM at the prompt (a service manager, a closing terminal's SIGHUP
# alike) ends the session the ordinary way: exit 0, within a moment
pid, fd = spawn()
out = readuntil(fd, b"> ")
os.kill(pid, signal.SIGTERM)
status = waitexit(pid, fd, 5)
report(status is not None and os.WIFEXITED(status) and
       os.WEXITSTATUS(status) == 0, "SIGTERM at the prompt ends the session, "
       "exit 0", repr(status))
sys.exit(1 if checks.failed else 0)
