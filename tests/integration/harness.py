"""Shared machinery for the gaelic integration suite (imported by conftest.py
and the test modules: `from harness import ...`).

Every test drives the real binary (env GAELIC_BIN, default build/gaelic,
relative to the repo root) over real HTTP on 127.0.0.1.

  ServerFactory           starts `GAELIC_BIN serve APPDIR --port 0 [flags]`,
                          waits for `gaelic: serving app "ID" at http://H:P/`
                          and returns a Server (conftest.py's serve / mserve
                          fixtures stop them at teardown whatever happens).
  run_gaelic(*args)       runs the binary to completion (bounded), for CLI and
                          config-error tests.
  Conn                    a raw HTTP/1.1 client connection for protocol tests.
  copy_app(name, dst)     copies tests/integration/apps/NAME into a tmp dir,
                          its app.yaml edited if asked.
  newest_entry(out, path) the newest request log of GET path in `gaelic logs`
                          output, with its app lines.
"""
import atexit
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import urllib.parse

import requests

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APPS = os.path.join(REPO, "tests", "integration", "apps")
HOST = "127.0.0.1"

_bin = os.environ.get("GAELIC_BIN", "build/gaelic")
GAELIC_BIN = _bin if os.path.isabs(_bin) else os.path.join(REPO, _bin)

SERVING_RE = re.compile(r'^gaelic: serving app "([^"]*)" at (http://(\[[^\]\s]+\]|[^/:\s]+):(\d+)/)\s*$',
                        re.M)
START_TIMEOUT = float(os.environ.get("GAELIC_TEST_START_TIMEOUT", "10"))
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 15.0  # default bound for one HTTP exchange
# Default bound of the waits for a console line or a request log: they end
# as soon as it shows, so the bound only has to outlast a slow run (ASan on
# a busy 2-core machine), never to time anything.
WAIT_TIMEOUT = 15.0


def app_path(name):
    return os.path.join(APPS, name)


def ipv6_loopback():
    """Whether this machine has ::1 (tests of IPv6 listeners skip without)."""
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


def ipv6_dual_stack():
    """Whether an IPv6 listener on :: also takes IPv4 clients here."""
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.bind(("::", 0))
        return True
    except OSError:
        return False


def copy_app(name, dst, edit_yaml=None):
    """Copies apps/NAME to DST (a path that must not exist yet); returns DST.
    edit_yaml: a function of the app's app.yaml text giving the copy's."""
    shutil.copytree(app_path(name), str(dst),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if edit_yaml:
        path = os.path.join(str(dst), "app.yaml")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(edit_yaml(text))
    return str(dst)


def write_app(dst, app_yaml, files=None):
    """Creates an app folder DST with the given app.yaml text and files."""
    os.makedirs(str(dst), exist_ok=True)
    with open(os.path.join(str(dst), "app.yaml"), "w") as f:
        f.write(app_yaml)
    for rel, text in (files or {}).items():
        p = os.path.join(str(dst), rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w" if isinstance(text, str) else "wb") as f:
            f.write(text)
    return str(dst)


# --------------------------------------------------------------------------
# process helpers

def children(pid):
    """The live pids whose parent is pid."""
    kids = set()
    for task in _listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                kids.update(int(x) for x in f.read().split())
        except OSError:
            pass
    return kids


def comm(pid):
    """pid's process name (gaelic-zygote, gaelic-spare, ...), or None once gone."""
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def descendants(pid):
    """All live descendant pids of pid (children, grandchildren, ...)."""
    seen, todo = [], [pid]
    for _ in range(10000):  # bounded walk
        if not todo:
            break
        for k in sorted(children(todo.pop())):
            if k not in seen:
                seen.append(k)
                todo.append(k)
    return seen


def _listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def kill_pids(pids):
    """SIGKILLs each pid that is still alive."""
    for k in pids:
        if pid_alive(k):
            try:
                os.kill(k, signal.SIGKILL)
            except OSError:
                pass


def start_time(pid):
    """Field 22 of /proc/PID/stat: with the pid, what names a server's
    cgroup ("gaelic-PID-START-NS")."""
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    return int(stat[stat.rfind(")") + 2:].split()[19])


def pid_namespace(pid):
    """The inode of process pid's pid namespace."""
    return os.stat("/proc/%d/ns/pid" % pid).st_ino


def server_cgroup_name(pid):
    """The name of server pid's own cgroup: its pid, start time and pid
    namespace."""
    return "gaelic-%d-%d-%d" % (pid, start_time(pid), pid_namespace(pid))


def pid_alive(pid):
    """True while any thread of process pid has not exited. Its main thread
    alone is not enough: killed, it turns zombie while the others are still
    on their way out (they stay in its cgroups, and its parent hears of the
    exit only once they are gone)."""
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return False
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                stat = f.read()
        except OSError:
            continue  # that thread is gone
        if stat[stat.rfind(")") + 2:].split()[0] not in ("Z", "X"):
            return True
    return False


def cgroup_folders(srv):
    """The server's cgroup folders (cpu and pids caps) named at start."""
    return re.findall(r"\(cgroup v\d (?:cpu|pids) at (\S+)\)", srv.stderr_text())


def stale_cgroups(srv):
    """Child cgroups ("pid-N", "zygote-N") whose process is gone, each with
    what the kernel still counts in it (its cgroup.procs)."""
    stale = []
    for folder in cgroup_folders(srv):
        for name in os.listdir(folder):
            m = re.match(r"(?:pid|zygote)-(\d+)$", name)
            if m and not pid_alive(int(m.group(1))):
                path = os.path.join(folder, name)
                try:
                    with open(os.path.join(path, "cgroup.procs")) as f:
                        procs = f.read().split()
                except OSError:
                    continue  # removed meanwhile
                stale.append((path, procs))
    return stale


def wait_pids_gone(pids, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if pid_alive(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if pid_alive(p)]


class Server:
    """One running `gaelic serve`. Always stopped by pid."""

    def __init__(self, proc, logdir, appdir, args):
        self.proc = proc
        self.pid = proc.pid
        self.logdir = logdir
        self.appdir = appdir
        self.args = args
        self.stdout_path = os.path.join(logdir, "stdout")
        self.stderr_path = os.path.join(logdir, "stderr")
        self.app_id = self.url = self.host = None
        self.port = None
        self.returncode = None
        self.storage_path = None  # --storage_path, when the factory set it

    def _read(self, path):
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stdout_text(self):
        return self._read(self.stdout_path)

    def stderr_text(self):
        return self._read(self.stderr_path)

    def wait_stderr(self, text, timeout=WAIT_TIMEOUT, since=0):
        """True once text (or, for a tuple, any of its texts) shows up in
        the server's stderr past offset since (len(stderr_text()) taken
        before: lines of earlier requests on the same server do not count);
        a bounded wait."""
        texts = text if isinstance(text, tuple) else (text,)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            err = self.stderr_text()[since:]
            if any(t in err for t in texts):
                return True
            time.sleep(0.05)
        return False

    def logs(self, *args):
        """Runs `gaelic logs` for this server's app and storage; returns the
        CompletedProcess."""
        flags = ["--storage_path", self.storage_path] if self.storage_path else []
        return run_gaelic("logs", self.appdir, *flags, *args)

    def wait_logs(self, text, *args, timeout=WAIT_TIMEOUT):
        """Output of `gaelic logs [args]` once it contains text (the server
        commits logs every 100 ms); the last output if it never does."""
        deadline = time.monotonic() + timeout
        while True:
            out = self.logs(*args).stdout
            if text in out or time.monotonic() >= deadline:
                return out
            time.sleep(0.1)

    def log_rows(self, resource):
        """({request_id: row} of the request logs of resource, as `gaelic
        logs --json` gives them), and the whole output."""
        out = self.logs("--json", "--limit", "0").stdout
        rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        return {row["request_id"]: row for row in rows if row["resource"] == resource}, out

    def wait_new_log_rows(self, resource, before, enough, timeout=WAIT_TIMEOUT):
        """(rows of resource whose request_id is not in before, output of
        `gaelic logs`) once enough(rows) holds, or the last ones at the
        bound: rows land in the log store's 100 ms commits, and earlier
        requests on the same server left rows of their own."""
        deadline = time.monotonic() + timeout
        while True:
            rows, out = self.log_rows(resource)
            new = [row for rid, row in rows.items() if rid not in before]
            if enough(new) or time.monotonic() >= deadline:
                return new, out
            time.sleep(0.1)

    def alive(self):
        return self.proc.poll() is None

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = SERVING_RE.search(self.stdout_text())
            if m:
                self.app_id = m.group(1)
                self.url = m.group(2)
                self.host = m.group(3)
                self.port = int(m.group(4))
                return self
            if self.proc.poll() is not None:
                raise AssertionError(
                    "gaelic exited with %s before serving\nargs: %s\nstdout:\n%s\nstderr:\n%s"
                    % (self.proc.returncode, self.args, self.stdout_text(), self.stderr_text()))
            time.sleep(0.02)
        raise AssertionError("gaelic did not print its URL within %ss\nargs: %s\nstdout:\n%s\nstderr:\n%s"
                             % (timeout, self.args, self.stdout_text(), self.stderr_text()))

    def children(self):
        return descendants(self.pid)

    def send_signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.pid, sig)

    def wait(self, timeout):
        """Waits for exit; returns the exit code or None if still running."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Signals, waits (bounded), then SIGKILLs the master and anything it
        left behind. Returns the exit code of the master."""
        if self.proc.poll() is not None:
            self.returncode = self.proc.returncode
            return self.returncode
        kids = self.children()
        os.kill(self.pid, sig)
        rc = self.wait(timeout)
        if rc is None:
            kids = list(dict.fromkeys(kids + self.children()))
            os.kill(self.pid, signal.SIGKILL)
            rc = self.wait(timeout)
        kill_pids(kids)  # never leave instances behind, even after a failure
        return rc

    # convenience HTTP helpers (requests, no connection reuse)
    def get(self, path, **kw):
        kw.setdefault("timeout", HTTP_TIMEOUT)
        return requests.get(self.url.rstrip("/") + path, **kw)

    def post(self, path, **kw):
        kw.setdefault("timeout", HTTP_TIMEOUT)
        return requests.post(self.url.rstrip("/") + path, **kw)

    def get_json(self, path, **kw):
        r = self.get(path, **kw)
        assert r.status_code == 200, "GET %s -> %s %r\nserver stderr:\n%s" % (
            path, r.status_code, r.content[:500], self.stderr_text()[-3000:])
        return r.json()


_LIVE = []  # every Server started, for the atexit safety net


def kill_leftovers():
    """Last resort (atexit, or pytest killed by a timeout): SIGKILL every
    server this process started that is still running, and its processes."""
    for s in _LIVE:
        if s.proc.poll() is None:
            kids = s.children()
            try:
                os.kill(s.pid, signal.SIGKILL)
                s.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            kill_pids(kids)


atexit.register(kill_leftovers)


class ServerFactory:
    def __init__(self, tmpdir_factory):
        self._tmp = tmpdir_factory
        self.servers = []

    def start(self, appdir, *flags, wait=True, port="0", storage=True, timeout=START_TIMEOUT,
              env=None):
        logdir = tempfile.mkdtemp(prefix="gaelic-", dir=str(self._tmp.getbasetemp()))
        args = [GAELIC_BIN, "serve", str(appdir)]
        if port is not None:
            args += ["--port", str(port)]
        if storage:
            args += ["--storage_path", os.path.join(logdir, "storage")]
        args += [str(f) for f in flags]
        out = open(os.path.join(logdir, "stdout"), "wb")
        err = open(os.path.join(logdir, "stderr"), "wb")
        try:
            proc = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                    cwd=logdir, env=env)
        finally:
            out.close()
            err.close()
        srv = Server(proc, logdir, str(appdir), args)
        if storage:
            srv.storage_path = os.path.join(logdir, "storage")
        self.servers.append(srv)
        _LIVE.append(srv)
        if wait:
            srv.wait_ready(timeout)
        return srv

    __call__ = start

    def stop_all(self):
        """Stops every server, then fails (a teardown error) if a sanitizer
        reported a leak of the master's or a memory error in any process."""
        reports = []
        for s in self.servers:
            try:
                s.stop()
            except Exception:  # keep stopping the others
                pass
            try:
                found = sanitizer_reports(s.stderr_text())
            except OSError:
                found = []
            if found:
                reports.append("%s:\n%s" % (s.args, "\n".join(found)))
        assert not reports, "sanitizer reports:\n" + "\n\n".join(reports)


# A crash a test provokes on purpose (SIGSEGV, abort) is a deadly signal to
# ASan; anything else it or UBSan reports, and LeakSanitizer's reports of
# the master (instances run without leak checks: CPython keeps its memory
# to the exit), is a defect.
_SANITIZER_REPORT = re.compile(
    r"ERROR: LeakSanitizer.*|ERROR: AddressSanitizer: (?!SEGV|BUS|FPE|ILL|ABRT).*|"
    r"runtime error: .*")


def sanitizer_reports(text):
    """The first line of each sanitizer report in a server's output."""
    return _SANITIZER_REPORT.findall(text)


def newest_entry(out, path, status=None):
    """The newest request log of GET path (answered with status, when
    given) in the text output of `gaelic logs`: from its request line's
    "GET path HTTP/1.1" to the next request's line, its app lines
    included; None when there is none."""
    start = out.find('"GET %s HTTP/1.1"%s' % (path, "" if status is None else " %d" % status))
    if start < 0:
        return None
    end = out.find("\n127.0.0.1", start)
    return out[start:] if end < 0 else out[start:end]


def run_gaelic(*args, timeout=15, cwd=None, env=None):
    """Runs GAELIC_BIN with args to completion. Returns CompletedProcess with
    text stdout/stderr. A process that outlives timeout is killed (by pid)
    and the test fails."""
    proc = subprocess.Popen([GAELIC_BIN] + [str(a) for a in args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=cwd or REPO,
                            env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kids = descendants(proc.pid)
        proc.kill()
        out, err = proc.communicate()
        kill_pids(kids)
        raise AssertionError("gaelic %s still running after %ss\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(map(str, args)), timeout, out.decode(errors="replace"),
                                err.decode(errors="replace")))
    return subprocess.CompletedProcess(proc.args, proc.returncode,
                                       out.decode("utf-8", "replace"),
                                       err.decode("utf-8", "replace"))


# --------------------------------------------------------------------------
# raw HTTP

class Response:
    def __init__(self, version, status, reason, headers, body, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value) as received
        self.body = body
        self.raw_head = raw_head

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def __repr__(self):
        return "<Response %s %s %r body=%r>" % (self.status, self.reason, self.headers,
                                               self.body[:200])


def reset(sock):
    """Closes sock with a reset (RST) instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class ConnectionClosed(Exception):
    pass


class Conn:
    """A raw client connection with its own read buffer, so several
    responses (pipelining, 100 Continue) can be read one after another."""

    def __init__(self, port, host=HOST, timeout=HTTP_TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.timeout = timeout
        self.port = port

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def reset(self):
        """Closes with a reset (RST), which the server hears of at once."""
        reset(self.sock)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def request(self, method="GET", path="/", headers=None, body=None, version="HTTP/1.1"):
        """Sends one request. headers: list of (name, value); Host is added
        unless given. body: bytes, sent with Content-Length unless the headers
        say otherwise."""
        self.send(build_request(method, path, headers, body, version, self.port))

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("timed out reading a response; have %r" % self.buf[:300])
        self.sock.settimeout(remaining)
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionClosed("connection closed; have %r" % self.buf[:300])
        self.buf += data

    def read_response(self, head=False, timeout=None):
        """Reads exactly one response (interim 1xx responses count as one).
        head=True: the request was HEAD, so there is no body."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline)
        raw_head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = raw_head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        version, status = parts[0], int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
        resp = Response(version, status, reason, headers, b"", raw_head)
        if head or status < 200 or status in (204, 304):
            return resp
        te = (resp.header("transfer-encoding") or "").lower()
        cl = resp.header("content-length")
        if "chunked" in te:
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._fill(deadline)
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    while b"\r\n\r\n" not in self.buf and not self.buf.startswith(b"\r\n"):
                        self._fill(deadline)
                    if self.buf.startswith(b"\r\n"):
                        self.buf = self.buf[2:]
                    else:
                        self.buf = self.buf.split(b"\r\n\r\n", 1)[1]
                    break
                while len(self.buf) < size + 2:
                    self._fill(deadline)
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
            resp.body = body
        elif cl is not None:
            n = int(cl)
            while len(self.buf) < n:
                self._fill(deadline)
            resp.body, self.buf = self.buf[:n], self.buf[n:]
        else:  # delimited by close
            try:
                while True:
                    self._fill(deadline)
            except ConnectionClosed:
                pass
            resp.body, self.buf = self.buf, b""
        return resp

    def is_closed(self, timeout=3.0):
        """True if the server closes (EOF or reset) within timeout with no
        more data than what is buffered; False if still open at the end."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return False
            except ConnectionResetError:
                return True
            if not data:
                return True
            self.buf += data


def build_request(method="GET", path="/", headers=None, body=None, version="HTTP/1.1", port=None):
    headers = list(headers or [])
    names = {k.lower() for k, _ in headers}
    if "host" not in names and version == "HTTP/1.1":
        headers.insert(0, ("Host", "%s:%s" % (HOST, port) if port else HOST))
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        headers.append(("Content-Length", str(len(body))))
    head = "%s %s %s\r\n" % (method, path, version)
    head += "".join("%s: %s\r\n" % (k, v) for k, v in headers) + "\r\n"
    data = head.encode("latin-1")
    if body is not None:
        data += body if isinstance(body, bytes) else body.encode("latin-1")
    return data


def get_head_next(port, path, headers=None, next_path="/path/next"):
    """GET then HEAD of path, then a GET of next_path on the same
    connection: if HEAD had sent a body, its bytes would be read as the
    third response."""
    with Conn(port) as c:
        c.request("GET", path, headers)
        g = c.read_response()
        c.request("HEAD", path, headers)
        h = c.read_response(head=True)
        c.request("GET", next_path)
        n = c.read_response()
    return g, h, n


def http_request(port, method="GET", path="/", headers=None, body=None, timeout=HTTP_TIMEOUT):
    """One request on a fresh connection; returns a Response."""
    with Conn(port, timeout=timeout) as c:
        c.request(method, path, headers, body)
        return c.read_response(head=(method == "HEAD"))


def chunked(*parts):
    """Encodes parts (bytes) as a chunked body, with the last-chunk."""
    out = b""
    for p in parts:
        out += b"%x\r\n%s\r\n" % (len(p), p)
    return out + b"0\r\n\r\n"


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def quote(s):
    return urllib.parse.quote(s, safe="")


def parse_json(resp):
    return json.loads(resp.body.decode("utf-8"))
