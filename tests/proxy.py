#!/usr/bin/env python3
# See LICENSE file for copyright and license details.
#
# tests/proxy.py: a minimal HTTP CONNECT proxy for tests, loopback only.
#
# usage: proxy.py --port-file PORTFILE --log LOG [--auth USER:PASS]
#                 [--map NAME=ADDR]...   (CONNECT to NAME goes to loopback ADDR)
#
# Listens on an ephemeral port of 127.0.0.1; once listening it writes
# "PORT\n" to PORTFILE (temp file, then rename).  Serves until killed;
# SIGTERM and SIGINT exit with status 0.  One thread per direction of each
# tunnel.
#
# Each request head read (request line, headers up to the blank line) is
# appended to LOG as one JSON line, flushed at once:
#   {"method": "CONNECT", "target": "127.0.0.1:8080",
#    "proxy_authorization": "Basic dXNlcjpwYXNz" or null}
# Then:
#   - a method other than CONNECT: 405 Method Not Allowed, close;
#   - with --auth, a missing or wrong "Proxy-Authorization: Basic
#     base64(USER:PASS)": 407 Proxy Authentication Required, close;
#   - a target host other than 127.0.0.1, ::1 ([::1]:PORT) or localhost:
#     403 Forbidden, close; a malformed target: 400;
#   - the target refuses or cannot be reached: 502 Bad Gateway, close;
#   - otherwise "HTTP/1.1 200 Connection established", then bytes are
#     relayed both ways; when one side stops sending, the other is told
#     (half-close), and the tunnel ends once both directions are done.
import argparse
import base64
import binascii
import json
import os
import signal
import socket
import sys
import threading
import time

MAX_HEAD = 64 << 10
ALLOWED = {"127.0.0.1", "::1", "localhost"}
MAPPED = {}     # --map NAME=ADDR: a test name the proxy resolves itself


def die(msg):
    sys.stderr.write("proxy: %s\n" % msg)
    sys.exit(2)


def reply(sock, status, reason, extra=""):
    msg = ("HTTP/1.1 %d %s\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n"
           % (status, reason, extra))
    sock.sendall(msg.encode("latin-1"))


def read_head(sock):
    """(request line, {lowercased name: value}, bytes read past the head),
    or None if the client closed or sent too much."""
    buf = bytearray()
    while True:
        i = buf.find(b"\r\n\r\n")
        j = buf.find(b"\n\n")
        if i >= 0 or j >= 0:
            end, skip = (i, 4) if i >= 0 and (j < 0 or i < j) else (j, 2)
            break
        if len(buf) > MAX_HEAD:
            return None
        d = sock.recv(4096)
        if not d:
            return None
        buf += d
    lines = buf[:end].decode("latin-1").replace("\r\n", "\n").split("\n")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers, bytes(buf[end + skip:])


def split_target(target):
    """"host:port" or "[v6]:port" -> (host, port), or None."""
    if target.startswith("["):
        host, sep, rest = target[1:].partition("]")
        if not sep or not rest.startswith(":"):
            return None
        port = rest[1:]
    else:
        host, sep, port = target.rpartition(":")
        if not sep:
            return None
    if not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


def auth_ok(header, want):
    if header is None:
        return False
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        return base64.b64decode(token.strip(), validate=True) == want.encode("utf-8")
    except (binascii.Error, ValueError):
        return False


def pump(src, dst, done):
    """Copy src to dst until src stops sending; then half-close dst."""
    try:
        while True:
            d = src.recv(65536)
            if not d:
                break
            dst.sendall(d)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    done.release()


class Proxy:
    def __init__(self, log, auth):
        self.log = log
        self.auth = auth
        self.lock = threading.Lock()

    def record(self, method, target, pa):
        with self.lock:
            self.log.write(json.dumps({"method": method, "target": target,
                                       "proxy_authorization": pa}) + "\n")
            self.log.flush()

    def serve(self, client):
        upstream = None
        try:
            client.settimeout(60)
            head = read_head(client)
            if head is None:
                return
            line, headers, rest = head
            parts = line.split()
            if len(parts) != 3:
                self.record(None, line, headers.get("proxy-authorization"))
                reply(client, 400, "Bad Request")
                return
            method, target, _ = parts
            self.record(method, target, headers.get("proxy-authorization"))
            if method != "CONNECT":
                reply(client, 405, "Method Not Allowed", "Allow: CONNECT\r\n")
                return
            if self.auth is not None and \
                    not auth_ok(headers.get("proxy-authorization"), self.auth):
                reply(client, 407, "Proxy Authentication Required",
                      'Proxy-Authenticate: Basic realm="test-proxy"\r\n')
                return
            hp = split_target(target)
            if hp is None:
                reply(client, 400, "Bad Request")
                return
            hp = (MAPPED.get(hp[0].lower(), hp[0]), hp[1])
            if hp[0].lower() not in ALLOWED:
                reply(client, 403, "Forbidden")
                return
            try:
                upstream = socket.create_connection(hp, timeout=10)
            except OSError:
                reply(client, 502, "Bad Gateway")
                return
            upstream.settimeout(None)
            client.settimeout(None)
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:    # the client did not wait for our answer
                upstream.sendall(rest)
            done = threading.Semaphore(0)
            threading.Thread(target=pump, args=(upstream, client, done),
                             daemon=True).start()
            pump(client, upstream, done)
            done.acquire()
            done.acquire()
        except OSError:
            pass    # either side went away
        finally:
            for s in (client, upstream):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass


def main():
    ap = argparse.ArgumentParser(description="loopback HTTP CONNECT proxy")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--auth", metavar="USER:PASS")
    ap.add_argument("--map", action="append", default=[], metavar="NAME=ADDR",
                    help="connect to ADDR (a loopback address) for NAME")
    a = ap.parse_args()
    for m in a.map:
        name, eq, addr = m.partition("=")
        if not eq or addr not in ALLOWED:
            die("--map wants NAME=ADDR with a loopback ADDR")
        MAPPED[name.lower()] = addr
    if a.auth is not None and ":" not in a.auth:
        die("--auth wants USER:PASS")
    try:
        log = open(a.log, "a", encoding="utf-8")
    except OSError as e:
        die("log: %s" % e)
    try:
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", 0))
        ls.listen(128)
    except OSError as e:
        die("listen: %s" % e)

    def stop(signum, frame):
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    tmp = "%s.tmp.%d" % (a.port_file, os.getpid())
    try:
        with open(tmp, "w") as f:
            f.write("%d\n" % ls.getsockname()[1])
        os.replace(tmp, a.port_file)
    except OSError as e:
        die("port file: %s" % e)

    proxy = Proxy(log, a.auth)
    while True:
        try:
            c, _ = ls.accept()
        except OSError:
            time.sleep(0.05)
            continue
        threading.Thread(target=proxy.serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
