#!/usr/bin/env python3
# See LICENSE file for copyright and license details.
#
# tests/hardening.py: observe vtcode's start-up hardening from outside.
#
# usage: hardening.py VTCODE [USER]
#
# Runs the real binary (as USER through setpriv when given, so root's
# powers hide nothing) with its output on a pipe that is already full, so
# it blocks in write() once start-up is over; then reads /proc/PID the way
# any other process could, drains the pipe and checks the exit status.
# Prints "ok NAME" or "FAIL NAME: why" per check; tests.sh counts them.
import fcntl
import os
import pwd
import signal
import subprocess
import sys
import time

F_SETPIPE_SZ = 1031
vt = os.path.abspath(sys.argv[1])
user = sys.argv[2] if len(sys.argv) > 2 else None
failed = 0


def report(ok, name, why=""):
    global failed
    if ok:
        print("ok   hardening: " + name)
    else:
        failed += 1
        print("FAIL hardening: %s: %s" % (name, why))


def asuser(argv):
    if user is None:
        return argv
    pw = pwd.getpwnam(user)
    return ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
            "--clear-groups", "--"] + argv


def fullpipe():
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
    os.set_blocking(w, False)
    try:
        while True:
            os.write(w, b"x" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(w, True)
    return r, w


def blocked_in_write(pid, fd):
    """wait (bounded) until pid sits in write(fd, ...)"""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/syscall" % pid) as f:
                fields = f.read().split()
            # x86_64 write is 1, aarch64 write is 64
            if fields and fields[0] in ("1", "64") and \
                    int(fields[1], 16) == fd:
                return True
        except (OSError, IndexError, ValueError):
            pass
        time.sleep(0.02)
    return False


def status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def readable_by_user(path):
    """can USER (or we) open path? a non-dumpable process's environ is not
    readable by its own user"""
    p = subprocess.run(asuser(["cat", path]), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return p.returncode == 0


def probe(args, outfd, closefds, label):
    r, w = fullpipe()
    extra = [os.open("/dev/null", os.O_RDONLY) for _ in range(2)]
    hi = os.dup2(extra[1], 9)
    env = dict(os.environ, LD_VTCODE_TEST="1",
               LD_LIBRARY_PATH="/nonexistent-vtcode")

    def child():
        os.dup2(w, outfd)
        for fd in closefds:
            os.close(fd)

    p = subprocess.Popen(asuser([vt] + args), stdin=subprocess.DEVNULL,
                         preexec_fn=child, pass_fds=extra + [hi, w],
                         env=env, close_fds=True)
    os.close(w)
    for fd in extra + [hi]:
        os.close(fd)
    pid = p.pid
    if not blocked_in_write(pid, outfd):
        p.kill()
        p.wait()
        report(False, label + ": reach the blocking write",
               "vtcode never blocked in write(%d)" % outfd)
        os.close(r)
        return None, b""
    st = status(pid)
    if user is not None:
        report(st["Uid"].split()[0] == str(pwd.getpwnam(user).pw_uid),
               label + ": runs as " + user, st["Uid"])
    report(st.get("Umask") == "0077", label + ": umask 077",
           st.get("Umask"))
    report(int(st["SigIgn"], 16) & (1 << (signal.SIGPIPE - 1)) != 0,
           label + ": SIGPIPE ignored", "SigIgn " + st["SigIgn"])
    core = [l for l in open("/proc/%d/limits" % pid)
            if l.startswith("Max core file size")]
    report(core and core[0].split()[4:6] == ["0", "0"],
           label + ": RLIMIT_CORE 0", core)
    fds = sorted(int(x) for x in os.listdir("/proc/%d/fd" % pid))
    report(fds == [0, 1, 2], label + ": only fds 0-2 open", fds)
    for fd in closefds:
        tgt = os.readlink("/proc/%d/fd/%d" % (pid, fd))
        report(tgt == "/dev/null", label + ": closed fd %d reopened on "
               "/dev/null" % fd, tgt)
    # not dumpable: /proc/PID belongs to root, and its own user cannot
    # read its memory-backed files
    report(user is None or os.stat("/proc/%d/status" % pid).st_uid == 0,
           label + ": not dumpable (/proc/PID owned by root)",
           os.stat("/proc/%d/status" % pid).st_uid)
    report(not readable_by_user("/proc/%d/environ" % pid),
           label + ": environ unreadable by its own user", "readable")
    # drain: vtcode finishes and exits normally
    out = b""
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        out += b
    os.close(r)
    rc = p.wait()
    return rc, out


def control():
    """positive control: the same checks on a process that did not harden
    must see the opposite, or the checks prove nothing"""
    p = subprocess.Popen(asuser(["sleep", "30"]), stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if os.readlink("/proc/%d/exe" % p.pid).endswith("sleep"):
                    break
            except OSError:
                pass
            time.sleep(0.02)
        st = status(p.pid)
        expect_uid = pwd.getpwnam(user).pw_uid if user else os.getuid()
        report(os.stat("/proc/%d/status" % p.pid).st_uid == expect_uid,
               "control: plain process's /proc/PID owned by its user",
               os.stat("/proc/%d/status" % p.pid).st_uid)
        report(readable_by_user("/proc/%d/environ" % p.pid),
               "control: plain process's environ readable", "unreadable")
        report(st.get("Umask") == "0022",
               "control: plain process keeps umask 022", st.get("Umask"))
    finally:
        p.kill()
        p.wait()


def main():
    if os.getuid() != 0:
        # /proc/PID/fd and /proc/PID/syscall of a non-dumpable process are
        # root's to read: without root this probe cannot look
        print("skip hardening: needs root to inspect /proc/PID")
        sys.exit(77)
    os.umask(0o022)
    control()
    rc, out = probe(["-h"], 1, [], "vtcode -h")
    report(rc == 0, "vtcode -h: exits 0 after the pipe drains", rc)
    report(b"usage: vtcode" in out, "vtcode -h: usage on stdout", out[-80:])
    # hardening precedes option parsing: an unknown option's error is
    # written by an already hardened process
    rc, out = probe(["--no-such-option"], 2, [0], "bad option")
    report(rc == 2, "bad option: exits 2", rc)
    report(b"unknown option" in out, "bad option: message on stderr",
           out[-80:])
    sys.exit(1 if failed else 0)


main()
