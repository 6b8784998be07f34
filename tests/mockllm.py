#!/usr/bin/env python3
# See LICENSE file for copyright and license details.
#
# tests/mockllm.py: a scripted stand-in for an LLM HTTP/1.1 endpoint.
#
# usage: mockllm.py --script SCRIPT.json --port-file PORTFILE --log LOG.jsonl
#                   [--host 127.0.0.1|::1]
#
# Listens on an ephemeral port of HOST (default 127.0.0.1).  Once it is
# listening it writes "PORT\n" to PORTFILE (temp file, then rename, so a
# reader never sees half of it), then serves until killed; SIGTERM and
# SIGINT exit with status 0.  Each connection gets its own thread, so a
# step that hangs holds up only its own client.  A bad script or bad
# arguments: a message on stderr and exit status 2.
#
# Every complete request is appended to LOG as one JSON line, flushed at
# once, before its response is written:
#   {"n": 0, "method": "POST", "path": "/v1/chat/completions",
#    "headers": {"lowercased-name": "value", ...},
#    "body": <the body parsed as JSON, or the raw text if it is not JSON>}
# Request bodies may use Content-Length or Transfer-Encoding: chunked.
# Keep-alive works: after a response that did not say "Connection: close"
# (and a request that did not either) the next request is read from the
# same connection.
#
# SCRIPT is {"steps": [STEP, ...], "repeat_last": false}.  Request n (in
# arrival order, over all connections) is answered by steps[n].  Past the
# end, the last step is used again if "repeat_last" is true; otherwise the
# answer is 500 {"error":{"message":"mock: script exhausted"}}.
#
# STEP is an object; every field is optional:
#   "path"             the request target must end with this (the query
#                      string may be left out), else 404 {"error":{"message":
#                      "mock: unexpected path ..."}}; the step is used up
#                      either way
#   "status"           default 200
#   "reason"           default the standard phrase for the status
#   "headers"          {"Name": "value" | ["v1", "v2"]} sent as given; a
#                      name given here replaces the header the mock would
#                      have added itself (Content-Type, Content-Length,
#                      Transfer-Encoding, Connection)
#   "delay_before_ms"  sleep this long before answering at all
#  body, at most one of:
#   "body"             a string, sent as UTF-8; no default Content-Type
#   "json"             any JSON value, serialised; application/json
#   "sse_file"         a file sent byte for byte; text/event-stream.  A
#                      relative path is looked up from the current directory,
#                      then from the script file's directory
#   "sse"              ["s", ...]: each item becomes "data: s\n\n" (an item
#                      that is not a string is serialised as JSON first)
#   "events"           [[EVENT, DATA], ...]: "event: EVENT\ndata: DATA\n\n"
#                      (DATA serialised as JSON unless it is a string)
#   "sse_repeat"       {"data": D, "n": N}: "data: D\n\n" N times, then
#                      "data: [DONE]\n\n"; made on the fly in large writes
#  framing:
#   "chunked"          Transfer-Encoding: chunked; default true for the SSE
#                      kinds (sse_file, sse, events, sse_repeat) unless
#                      "close_delimited" is set, false otherwise
#   "close_delimited"  when not chunked: send no Content-Length and mark the
#                      end of the body by closing the connection
#   "split"            N: write the body in pieces of N bytes, each its own
#                      chunk when chunked.  Without it, sse/events send one
#                      piece per event, the others as few large pieces
#   "split_every_byte" true: the same as "split": 1
#   "delay_ms"         sleep between pieces (default 0)
#   "keep_alive"       true: leave out "Connection: close" and keep serving
#                      the connection (ignored with close_delimited)
#  misbehaviour (each ends the connection; status/reason/headers apply to
#  "infinite" and "big_headers"):
#   "raw"              a string written as the whole response, nothing
#                      added; each character is one byte (latin-1, so
#                      "\u00ff" is 0xff).  Then close, or with "hang": true
#                      hold the connection open, silent, until the client
#                      closes it (at most 600 s)
#   "hang"             true on its own: read the request, answer nothing,
#                      wait for the client to go away (at most 600 s)
#   "infinite"         true: chunked SSE headers, then the event
#                      data: {"choices":[{"delta":{"content":"x"}}]}
#                      every "interval_ms" (default 50) until the client
#                      goes away
#   "big_headers"      N: a status line then header lines "X-Pad: aaa..."
#                      of 1000 bytes each, N bytes of them (rounded up to a
#                      whole line), never the blank line; then close
#
# Example:
#   {"steps": [
#     {"sse": [{"choices": [{"delta": {"content": "hi"}}]}, "[DONE]"]},
#     {"status": 503, "headers": {"retry-after-ms": "10"},
#      "json": {"error": {"message": "busy"}}},
#     {"sse_file": "text.sse", "split": 7, "path": "/chat/completions"}]}
import argparse
import http
import json
import os
import select
import signal
import socket
import sys
import threading
import time

HANG_LIMIT = 600.0          # longest a silent step keeps a connection
IDLE_LIMIT = 600.0          # longest we wait for a request on a connection
MAX_HEAD = 1 << 20          # request line plus headers
MAX_BODY = 256 << 20        # request body
BATCH = 64 << 10            # target size of one write when not split

BODY_KINDS = ("body", "json", "sse_file", "sse", "events", "sse_repeat")
SSE_KINDS = ("sse_file", "sse", "events", "sse_repeat")
STEP_KEYS = set(BODY_KINDS) | {
    "path", "status", "reason", "headers", "delay_before_ms", "chunked",
    "close_delimited", "split", "split_every_byte", "delay_ms", "keep_alive",
    "raw", "hang", "infinite", "interval_ms", "big_headers",
}
INFINITE_EVENT = b'data: {"choices":[{"delta":{"content":"x"}}]}\n\n'


class ScriptError(Exception):
    pass


class BadRequest(Exception):
    pass


def die(msg):
    sys.stderr.write("mockllm: %s\n" % msg)
    sys.exit(2)


def as_text(v):
    """A string stays itself; anything else becomes compact JSON."""
    if isinstance(v, str):
        return v
    return json.dumps(v, separators=(",", ":"))


# ---------------------------------------------------------------- script

def check_step(i, st, script_dir):
    where = "step %d" % i
    if not isinstance(st, dict):
        raise ScriptError("%s: not an object" % where)
    unknown = sorted(set(st) - STEP_KEYS)
    if unknown:
        raise ScriptError("%s: unknown field(s) %s" % (where, ", ".join(unknown)))
    kinds = [k for k in BODY_KINDS if k in st]
    if len(kinds) > 1:
        raise ScriptError("%s: more than one body (%s)" % (where, ", ".join(kinds)))

    def want(key, types, what):
        # bool is a subclass of int: true is not a number here
        if not isinstance(types, tuple):
            types = (types,)
        v = st.get(key)
        if key in st and (not isinstance(v, types) or
                          (isinstance(v, bool) and bool not in types)):
            raise ScriptError("%s: %s must be %s" % (where, key, what))

    want("path", str, "a string")
    want("status", int, "an integer")
    want("reason", str, "a string")
    want("headers", dict, "an object")
    want("body", str, "a string")
    want("sse_file", str, "a string")
    want("sse", list, "a list")
    want("events", list, "a list")
    want("sse_repeat", dict, "an object")
    want("raw", str, "a string")
    for k in ("chunked", "close_delimited", "split_every_byte", "keep_alive",
              "hang", "infinite"):
        want(k, bool, "true or false")
    for k in ("delay_before_ms", "delay_ms", "interval_ms"):
        want(k, (int, float), "a number")
    for k in ("split", "big_headers"):
        want(k, int, "an integer")
    if "status" in st and not 100 <= st["status"] <= 999:
        raise ScriptError("%s: status out of range" % where)
    if "split" in st and st["split"] < 1:
        raise ScriptError("%s: split must be at least 1" % where)
    for name, val in st.get("headers", {}).items():
        vals = val if isinstance(val, list) else [val]
        if not all(isinstance(v, str) for v in vals):
            raise ScriptError("%s: header %s: values must be strings" % (where, name))
    for ev in st.get("events", []):
        if not (isinstance(ev, list) and len(ev) == 2 and isinstance(ev[0], str)):
            raise ScriptError("%s: events items must be [event, data]" % where)
    if "sse_repeat" in st:
        r = st["sse_repeat"]
        if not isinstance(r.get("n"), int) or isinstance(r.get("n"), bool) or r["n"] < 0:
            raise ScriptError("%s: sse_repeat.n must be a count" % where)
        if "data" not in r:
            raise ScriptError("%s: sse_repeat.data is missing" % where)
    if "raw" in st:
        try:
            st["raw"].encode("latin-1")
        except UnicodeEncodeError:
            raise ScriptError("%s: raw has characters above \\u00ff" % where)
    if "sse_file" in st:
        p = st["sse_file"]
        if not os.path.isabs(p) and not os.path.exists(p):
            alt = os.path.join(script_dir, p)
            if os.path.exists(alt):
                p = alt
        try:
            with open(p, "rb") as f:
                st["_file_bytes"] = f.read()
        except OSError as e:
            raise ScriptError("%s: sse_file: %s" % (where, e))


def load_script(path):
    try:
        with open(path, "rb") as f:
            script = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as e:
        raise ScriptError("%s: %s" % (path, e))
    if not isinstance(script, dict) or not isinstance(script.get("steps"), list):
        raise ScriptError('%s: want {"steps": [...]}' % path)
    extra = sorted(set(script) - {"steps", "repeat_last"})
    if extra:
        raise ScriptError("%s: unknown top-level field(s) %s" % (path, ", ".join(extra)))
    if not isinstance(script.get("repeat_last", False), bool):
        raise ScriptError("%s: repeat_last must be true or false" % path)
    d = os.path.dirname(os.path.abspath(path))
    for i, st in enumerate(script["steps"]):
        check_step(i, st, d)
    return script


# --------------------------------------------------------------- reading

class Reader:
    """Buffered reads from a socket; EOFError when the peer closes."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def fill(self):
        d = self.sock.recv(BATCH)
        if not d:
            raise EOFError
        self.buf += d

    def until(self, delim, limit):
        start = 0
        while True:
            i = self.buf.find(delim, start)
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[:i + len(delim)]
                return out
            if len(self.buf) > limit:
                raise BadRequest("line or header block too long")
            start = max(0, len(self.buf) - len(delim) + 1)
            self.fill()

    def exact(self, n):
        while len(self.buf) < n:
            self.fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


def read_head(rd):
    """Request line and headers, or None if the peer closed between requests."""
    # Tolerate stray blank lines before a request (RFC 9112 2.2).
    while True:
        try:
            line = rd.until(b"\n", MAX_HEAD)
        except EOFError:
            if rd.buf:
                raise BadRequest("connection closed inside a request line")
            return None
        if line.strip():
            break
    parts = line.decode("latin-1").strip().split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise BadRequest("bad request line %r" % line[:200])
    method, target, version = parts
    headers = {}
    total = 0
    while True:
        line = rd.until(b"\n", MAX_HEAD).rstrip(b"\r")
        total += len(line)
        if total > MAX_HEAD:
            raise BadRequest("headers too long")
        if not line:
            break
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest("bad header line %r" % line[:200])
        name = name.lower()
        value = value.strip()
        headers[name] = headers[name] + ", " + value if name in headers else value
    return method, target, version, headers


def read_body(rd, sock, headers):
    if headers.get("expect", "").lower() == "100-continue":
        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    te = headers.get("transfer-encoding", "").lower()
    if te:
        if te.split(",")[-1].strip() != "chunked":
            raise BadRequest("unsupported transfer-encoding %r" % te)
        body = bytearray()
        while True:
            line = rd.until(b"\n", 4096).split(b";")[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                raise BadRequest("bad chunk size %r" % line[:40])
            if size == 0:
                break
            if len(body) + size > MAX_BODY:
                raise BadRequest("body too large")
            body += rd.exact(size)
            if rd.until(b"\n", 4096).strip():
                raise BadRequest("chunk not followed by CRLF")
        while rd.until(b"\n", MAX_HEAD).strip():   # trailer fields
            pass
        return bytes(body)
    cl = headers.get("content-length")
    if cl is None:
        return b""
    try:
        n = int(cl)
    except ValueError:
        raise BadRequest("bad content-length %r" % cl)
    if n < 0 or n > MAX_BODY:
        raise BadRequest("bad content-length %r" % cl)
    return rd.exact(n)


def body_for_log(body):
    text = body.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


# --------------------------------------------------------------- writing

def wait_for_close(sock, limit=HANG_LIMIT):
    """Say nothing; return once the peer closes or `limit` seconds pass."""
    deadline = time.monotonic() + limit
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        sock.settimeout(left)
        try:
            if not sock.recv(BATCH):
                return
        except (socket.timeout, OSError):
            return


def peer_gone(sock):
    """True if the peer has closed (readable and at EOF, or reset)."""
    try:
        r, _, _ = select.select([sock], [], [], 0)
        if not r:
            return False
        return sock.recv(BATCH, socket.MSG_PEEK) == b""
    except OSError:
        return True


def status_line(st):
    status = st.get("status", 200)
    reason = st.get("reason")
    if reason is None:
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
    return "HTTP/1.1 %d %s\r\n" % (status, reason)


def head_bytes(st, auto):
    """Status line, the step's own headers, then the automatic ones the step
    did not name itself, and the blank line."""
    lines = [status_line(st)]
    given = set()
    for name, val in st.get("headers", {}).items():
        given.add(name.lower())
        for v in (val if isinstance(val, list) else [val]):
            lines.append("%s: %s\r\n" % (name, v))
    for name, val in auto:
        if name.lower() not in given:
            lines.append("%s: %s\r\n" % (name, val))
    lines.append("\r\n")
    return "".join(lines).encode("latin-1", "replace")


def body_source(st):
    """(content type or None, length, iterator of byte strings) for a step.
    With no "split", sse/events yield one event per item and the other kinds
    yield large blocks; the caller re-cuts the stream when split is set."""
    if "json" in st:
        b = json.dumps(st["json"], separators=(",", ":")).encode("utf-8")
        return "application/json", len(b), iter([b])
    if "body" in st:
        b = st["body"].encode("utf-8")
        return None, len(b), iter([b])
    if "sse_file" in st:
        b = st["_file_bytes"]
        return "text/event-stream", len(b), iter([b[i:i + BATCH] for i in range(0, len(b), BATCH)] or [b""])
    if "sse" in st:
        frames = [("data: %s\n\n" % as_text(x)).encode("utf-8") for x in st["sse"]]
        return "text/event-stream", sum(map(len, frames)), iter(frames)
    if "events" in st:
        frames = [("event: %s\ndata: %s\n\n" % (e, as_text(d))).encode("utf-8")
                  for e, d in st["events"]]
        return "text/event-stream", sum(map(len, frames)), iter(frames)
    if "sse_repeat" in st:
        frame = ("data: %s\n\n" % as_text(st["sse_repeat"]["data"])).encode("utf-8")
        n = st["sse_repeat"]["n"]
        done = b"data: [DONE]\n\n"

        def gen():
            per = max(1, BATCH // len(frame))
            block = frame * per
            left = n
            while left >= per:
                yield block
                left -= per
            if left:
                yield frame * left
            yield done
        return "text/event-stream", len(frame) * n + len(done), gen()
    return None, 0, iter([])


def recut(blocks, size):
    """Re-cut a stream of byte strings into pieces of exactly `size` bytes
    (the last may be shorter)."""
    pending = bytearray()
    for b in blocks:
        pending += b
        if len(pending) >= size:
            cut = len(pending) - len(pending) % size
            for i in range(0, cut, size):
                yield bytes(pending[i:i + size])
            del pending[:cut]
    if pending:
        yield bytes(pending)


def send_normal(sock, st, request_close):
    """A well-formed response.  Returns True if the connection may be reused."""
    ctype, length, blocks = body_source(st)
    is_sse = any(k in st for k in SSE_KINDS)
    close_delim = st.get("close_delimited", False)
    chunked = st.get("chunked", is_sse and not close_delim)
    keep = st.get("keep_alive", False) and not request_close and \
        not (close_delim and not chunked)
    auto = []
    if ctype:
        auto.append(("Content-Type", ctype))
    if chunked:
        auto.append(("Transfer-Encoding", "chunked"))
    elif not close_delim:
        auto.append(("Content-Length", str(length)))
    if not st.get("keep_alive", False):
        auto.append(("Connection", "close"))
    sock.sendall(head_bytes(st, auto))

    split = 1 if st.get("split_every_byte") else st.get("split")
    if split:
        blocks = recut(blocks, split)
    delay = st.get("delay_ms", 0) / 1000.0
    first = True
    for piece in blocks:
        if not piece:
            continue
        if not first and delay > 0:
            time.sleep(delay)
        first = False
        if chunked:
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        else:
            sock.sendall(piece)
    if chunked:
        sock.sendall(b"0\r\n\r\n")
    return keep


def send_infinite(sock, st):
    auto = [("Content-Type", "text/event-stream"),
            ("Transfer-Encoding", "chunked"), ("Connection", "close")]
    sock.sendall(head_bytes(st, auto))
    interval = st.get("interval_ms", 50) / 1000.0
    chunk = b"%x\r\n%s\r\n" % (len(INFINITE_EVENT), INFINITE_EVENT)
    while not peer_gone(sock):
        sock.sendall(chunk)
        time.sleep(interval)


def send_big_headers(sock, st):
    n = st["big_headers"]
    line = b"X-Pad: " + b"a" * (1000 - 9) + b"\r\n"     # 1000 bytes
    sock.sendall(status_line(st).encode("latin-1"))
    lines = (n + len(line) - 1) // len(line)
    per = max(1, BATCH // len(line))
    while lines > 0:
        k = min(per, lines)
        sock.sendall(line * k)
        lines -= k


def respond(sock, st, request_close):
    """Answer one request with step `st`.  True if the connection stays."""
    if st.get("delay_before_ms"):
        time.sleep(st["delay_before_ms"] / 1000.0)
    if "raw" in st:
        sock.sendall(st["raw"].encode("latin-1"))
        if st.get("hang"):
            wait_for_close(sock)
        return False
    if st.get("hang"):
        wait_for_close(sock)
        return False
    if st.get("infinite"):
        send_infinite(sock, st)
        return False
    if "big_headers" in st:
        send_big_headers(sock, st)
        return False
    return send_normal(sock, st, request_close)


def error_step(status, message):
    return {"status": status, "json": {"error": {"message": message}}}


# ---------------------------------------------------------------- server

class Mock:
    def __init__(self, script, log):
        self.steps = script["steps"]
        self.repeat_last = script.get("repeat_last", False)
        self.log = log
        self.lock = threading.Lock()
        self.count = 0

    def take(self, method, target, headers, body):
        """Number the request, log it, and pick the step that answers it."""
        with self.lock:
            n = self.count
            self.count += 1
            rec = {"n": n, "method": method, "path": target,
                   "headers": headers, "body": body_for_log(body)}
            self.log.write(json.dumps(rec) + "\n")
            self.log.flush()
        if n < len(self.steps):
            st = self.steps[n]
        elif self.repeat_last and self.steps:
            st = self.steps[-1]
        else:
            return error_step(500, "mock: script exhausted")
        want = st.get("path")
        if want is not None and not (target.endswith(want) or
                                     target.split("?", 1)[0].endswith(want)):
            return error_step(404, "mock: unexpected path %s (want ...%s)" % (target, want))
        return st

    def serve(self, sock):
        rd = Reader(sock)
        try:
            while True:
                sock.settimeout(IDLE_LIMIT)
                try:
                    head = read_head(rd)
                    if head is None:
                        return
                    method, target, version, headers = head
                    body = read_body(rd, sock, headers)
                except BadRequest as e:
                    sys.stderr.write("mockllm: bad request: %s\n" % e)
                    sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
                    break
                sock.settimeout(None)
                st = self.take(method, target, headers, body)
                conn = headers.get("connection", "").lower()
                request_close = "close" in conn or \
                    (version == "HTTP/1.0" and "keep-alive" not in conn)
                if not respond(sock, st, request_close):
                    break
            # Half-close so the client sees the end at once, then drain
            # briefly so unread input does not turn our close into a reset.
            sock.shutdown(socket.SHUT_WR)
            wait_for_close(sock, 2.0)
        except (EOFError, OSError):
            pass    # the client went away; nothing to report
        except Exception as e:  # a bug here should not kill the server
            sys.stderr.write("mockllm: %s: %s\n" % (type(e).__name__, e))
        finally:
            try:
                sock.close()
            except OSError:
                pass


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description="scripted mock LLM HTTP server")
    ap.add_argument("--script", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    a = ap.parse_args()

    try:
        script = load_script(a.script)
    except ScriptError as e:
        die(str(e))
    try:
        log = open(a.log, "a", encoding="utf-8")
    except OSError as e:
        die("log: %s" % e)

    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    try:
        ls = socket.socket(fam, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((a.host, 0))
        ls.listen(128)
    except OSError as e:
        die("listen on %s: %s" % (a.host, e))

    def stop(signum, frame):
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    try:
        write_port_file(a.port_file, ls.getsockname()[1])
    except OSError as e:
        die("port file: %s" % e)

    mock = Mock(script, log)
    while True:
        try:
            c, _ = ls.accept()
        except OSError:
            time.sleep(0.05)    # e.g. out of descriptors; do not spin
            continue
        threading.Thread(target=mock.serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
