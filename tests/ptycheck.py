# See LICENSE file for copyright and license details.
#
# tests/ptycheck.py: what the helpers that drive vtcode through a real
# pty share (tests/approve.py, tests/interactive.py): one line per check,
# and a read from the pty until a mark shows up, bounded in time.
import os
import select
import time


class Checks:
    """prints "ok   WHAT: NAME" or "FAIL WHAT: NAME: why"; counts failures"""

    def __init__(self, what):
        self.what = what
        self.failed = 0

    def report(self, ok, name, why=""):
        if ok:
            print("ok   %s: %s" % (self.what, name))
        else:
            self.failed += 1
            print("FAIL %s: %s: %s" % (self.what, name, why))


def readuntil(fd, marks, limit=20):
    """read from fd until one of marks (bytes, or a list of them) is in
    what was read, the pty closes, or limit seconds pass"""
    if isinstance(marks, bytes):
        marks = [marks]
    buf = b""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if any(m in buf for m in marks):
            return buf
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return buf
            if not chunk:
                return buf
            buf += chunk
    return buf
