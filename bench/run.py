#!/usr/bin/python3
"""gaelic benchmark: gaelic against uWSGI, gunicorn and nginx, in one run.

Run with Debian's /usr/bin/python3 (stdlib only), usually via `make bench`.
For every app in bench/apps (hello, json, sleep10ms) and every server it:
  1. launches the server 5 times and times launch -> first HTTP 200 (raw
     socket GET every 5 ms, at most 10 s), keeping the last launch running;
  2. checks one response, warms up, then runs `wrk -t1 -c1 --latency`
     (p50/p99) and `wrk -t2 -c32 --latency` (req/s); during the c32 load a
     probe opens new connections, one at a time, and times a GET on each:
     a server that gives each worker to one keep-alive connection (uWSGI's
     --http11-socket) leaves new clients unanswered, which wrk does not
     show, and such a mode is reported as starving clients;
  3. tops up to >= 10k requests, lets the server idle for a second, and reads
     RSS (/proc/PID/status VmRSS) and PSS (/proc/PID/smaps_rollup) of the
     server process and every descendant;
  4. stops the server by its process group.
It prints one table per app, gaelic's same-run ratios to the peers, PASS/MISS
against the targets of issue 2, and writes build/bench-results.json.

Options: --quick, --only NAMES, --apps NAMES, --rounds N, --json PATH,
--gaelic PATH, --keep-logs. Environment: BENCH_SECONDS (c1 and c32 duration),
BENCH_C1_SECONDS, BENCH_C32_SECONDS, BENCH_WARMUP_SECONDS override it.
"""

import argparse
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APPS_DIR = os.path.join(ROOT, "bench", "apps")
PY = "/usr/bin/python3"
ALL_APPS = ["hello", "json", "sleep10ms"]
HOST = "127.0.0.1"
MEM_MIN_REQUESTS = 10000
LAUNCH_TIMEOUT = 10.0
POLL_INTERVAL = 0.005
STOP_TIMEOUT = 8.0

# The new-client probe under c32 load: a GET on a fresh connection every
# PROBE_EVERY seconds, unanswered after PROBE_TIMEOUT, at most PROBE_MAX.
PROBE_EVERY = 0.5
PROBE_TIMEOUT = 1.0
PROBE_MAX = 8

# gaelic's documented defaults (issue 2): used for the sleep10ms limit.
GAELIC_THREADS = 8
GAELIC_MAX_CONCURRENT = 30


def log(msg=""):
    print(msg, flush=True)


# ---------------------------------------------------------------- servers


class Server:
    """One server configuration. `argv(app, port, tmp)` builds its command."""

    def __init__(self, key, label, family, argv, apps=None, conc_limit=None,
                 expect_read_errors=False, check=None, env=None):
        self.key = key
        self.label = label
        self.family = family
        self._argv = argv
        self.apps = apps  # None = every app
        self.conc_limit = conc_limit  # requests in flight at most (sleep10ms limit)
        self.expect_read_errors = expect_read_errors
        self.check = check  # () -> None or a reason why it cannot run
        self.env = env

    def argv(self, app, port, tmp):
        return self._argv(app, port, tmp)


def app_dir(app):
    return os.path.join(APPS_DIR, app)


def gunicorn_argv(worker, threads=None):
    def build(app, port, tmp):
        argv = [PY, "-m", "gunicorn", "-w", "2", "-k", worker,
                "--graceful-timeout", "2", "-b", "%s:%d" % (HOST, port),
                "--chdir", app_dir(app)]
        if threads:
            argv += ["--threads", str(threads)]
        return argv + ["main:application"]
    return build


def uwsgi_argv(socket_opt, threads=None):
    def build(app, port, tmp):
        argv = ["uwsgi", "--plugin", "python3", socket_opt, "%s:%d" % (HOST, port),
                "--master", "--processes", "2",
                "--wsgi-file", os.path.join(app_dir(app), "main.py"),
                "--chdir", app_dir(app),
                "--disable-logging", "--die-on-term", "--need-app"]
        if threads:
            argv += ["--threads", str(threads)]
        return argv
    return build


NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    server {{
        listen {host}:{port};
        location / {{
            default_type text/plain;
            return 200 "Hello, world!";
        }}
    }}
}}
"""


def nginx_argv(app, port, tmp):
    prefix = tempfile.mkdtemp(prefix="nginx-", dir=tmp)
    os.makedirs(os.path.join(prefix, "tmp"))
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(prefix=prefix, host=HOST, port=port))
    return ["nginx", "-p", prefix, "-c", conf, "-e", os.path.join(prefix, "error.log")]


_gaelic_help = {}


def gaelic_has_flag(binary, flag):
    if binary not in _gaelic_help:
        try:
            r = subprocess.run([binary, "serve", "--help"], capture_output=True,
                               timeout=5, stdin=subprocess.DEVNULL)
            _gaelic_help[binary] = (r.stdout + r.stderr).decode("utf-8", "replace")
        except (OSError, subprocess.SubprocessError):
            _gaelic_help[binary] = ""
    return flag in _gaelic_help[binary]


def gaelic_argv(binary, extra):
    def build(app, port, tmp):
        argv = [binary, "serve", app_dir(app), "--host", HOST, "--port", str(port)]
        # Keep request logs / storage out of the repo when the flag exists.
        if gaelic_has_flag(binary, "--storage_path"):
            argv += ["--storage_path", tempfile.mkdtemp(prefix="gaelic-store-", dir=tmp)]
        # The peers run uncapped, so gaelic does too: by default it caps each
        # instance to its class clock (an F1 gets about a quarter of a CPU).
        if gaelic_has_flag(binary, "--cpu_cap"):
            argv += ["--cpu_cap", "off"]
        return argv + extra
    return build


def check_python_module(mod):
    def check():
        r = subprocess.run([PY, "-c", "import " + mod], capture_output=True, timeout=20)
        return None if r.returncode == 0 else "%s: cannot import %s" % (PY, mod)
    return check


def check_uwsgi():
    if not shutil.which("uwsgi"):
        return "uwsgi not installed (scripts/deps.sh bench)"
    if not any(os.path.exists(p) for p in ("/usr/lib/uwsgi/plugins/python3_plugin.so",
                                            "/usr/lib/uwsgi/python3_plugin.so")):
        return "uwsgi python3 plugin missing (uwsgi-plugin-python3)"
    return None


def check_binary(name):
    def check():
        return None if shutil.which(name) else "%s not installed (scripts/deps.sh bench)" % name
    return check


def check_gaelic(binary):
    def check():
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            return "%s not built (make)" % binary
        return None
    return check


def snapshot_gaelic(binary, tmp):
    """Copy the binary, the instance binary beside it (gaelic-instance, where
    gaelic runs it from) and the python/ runtime next to them
    (binary/../python is where gaelic looks) so a rebuild or edit during the
    run cannot change what is measured. Returns the copied binary's path."""
    src_py = os.path.join(os.path.dirname(os.path.dirname(binary)), "python")
    snap = os.path.join(tmp, "snapshot")
    os.makedirs(os.path.join(snap, "build"))
    dst = os.path.join(snap, "build", "gaelic")
    shutil.copy2(binary, dst)
    instance_bin = os.path.join(os.path.dirname(binary), "gaelic-instance")
    if os.path.exists(instance_bin):
        shutil.copy2(instance_bin, os.path.join(snap, "build", "gaelic-instance"))
    if os.path.isdir(src_py):
        # With the bytecode `make` compiled: copy2 keeps the sources' mtimes,
        # so the .pyc files stay valid.
        shutil.copytree(src_py, os.path.join(snap, "python"))
    return dst


def git_state():
    def run(argv):
        try:
            p = subprocess.run(argv, cwd=ROOT, capture_output=True, timeout=10)
            return p.stdout.decode("utf-8", "replace").strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    return {"head": run(["git", "rev-parse", "--short", "HEAD"]),
            "dirty": bool(run(["git", "status", "--porcelain", "--untracked-files=no"]))}


def make_servers(gaelic_bin):
    g = gaelic_bin
    return [
        Server("gunicorn-sync", "gunicorn sync 2w", "gunicorn",
               gunicorn_argv("sync"), conc_limit=2, check=check_python_module("gunicorn")),
        Server("gunicorn-gthread", "gunicorn gthread 2x8", "gunicorn",
               gunicorn_argv("gthread", 8), conc_limit=16, check=check_python_module("gunicorn")),
        Server("uwsgi-http-2p", "uwsgi http 2p", "uwsgi",
               uwsgi_argv("--http-socket"), conc_limit=2, expect_read_errors=True,
               check=check_uwsgi),
        Server("uwsgi-http-2x8", "uwsgi http 2x8", "uwsgi",
               uwsgi_argv("--http-socket", 8), conc_limit=16, expect_read_errors=True,
               check=check_uwsgi),
        Server("uwsgi-http11-2p", "uwsgi http11 2p", "uwsgi",
               uwsgi_argv("--http11-socket"), conc_limit=2, check=check_uwsgi),
        Server("uwsgi-http11-2x8", "uwsgi http11 2x8", "uwsgi",
               uwsgi_argv("--http11-socket", 8), conc_limit=16, check=check_uwsgi),
        Server("nginx", "nginx return 200", "nginx", nginx_argv, apps=["hello"],
               check=check_binary("nginx")),
        Server("gaelic", "gaelic (4 inst x 8 thr)", "gaelic", gaelic_argv(g, []),
               conc_limit=min(4 * GAELIC_THREADS, GAELIC_MAX_CONCURRENT),
               check=check_gaelic(g)),
        Server("gaelic-2inst", "gaelic --max_instances 2", "gaelic",
               gaelic_argv(g, ["--max_instances", "2"]),
               conc_limit=min(2 * GAELIC_THREADS, GAELIC_MAX_CONCURRENT),
               check=check_gaelic(g)),
    ]


# ---------------------------------------------------------------- processes


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def proc_stat(pid):
    """(ppid, starttime) of pid, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    fields = data.rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[19])


def descendants(root):
    """Every live descendant of root, as a list of pids (breadth first)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_stat(int(name))
        if st:
            children.setdefault(st[0], []).append(int(name))
    out, todo = [], [root]
    for _ in range(100000):  # bounded walk
        if not todo:
            break
        pid = todo.pop(0)
        for c in sorted(children.get(pid, [])):
            out.append(c)
            todo.append(c)
    return out


def read_kb(path, key):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def proc_comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


class Running:
    def __init__(self, proc, port, logpath):
        self.proc = proc
        self.port = port
        self.logpath = logpath


def start(server, app, tmp, tag):
    port = free_port()
    argv = server.argv(app, port, tmp)
    logpath = os.path.join(tmp, "%s-%s-%s.log" % (server.key, app, tag))
    with open(logpath, "wb") as logf:
        proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=subprocess.STDOUT, start_new_session=True)
    return Running(proc, port, logpath)


def stop(run):
    """SIGTERM the server process, wait (bounded), then SIGKILL its process group
    and any descendant that left it (same pid and start time as before)."""
    proc = run.proc
    snapshot = [(p, proc_stat(p)) for p in descendants(proc.pid)]
    if proc.poll() is None:
        try:  # the server itself first: its own graceful path stops its children
            os.kill(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    for pid, st in snapshot:
        now = proc_stat(pid)
        if st and now and now[1] == st[1]:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def log_tail(path, n=12):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    return "\n".join("      | " + line for line in lines[-n:])


# ---------------------------------------------------------------- HTTP probes


def http_get(port, timeout, path="/"):
    """One raw GET with Connection: close. Returns (status, headers, body)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n"
                   % (path, HOST, port)).encode())
        data = b""
        for _ in range(10000):  # bounded; the responses here are tiny
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if m and len(body) >= int(m.group(1)):
                    break
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    return status, headers, body


def wait_first_200(run, t0, timeout=LAUNCH_TIMEOUT):
    """Poll with a raw GET every 5 ms until the first 200; ms since t0, or None."""
    deadline = t0 + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if run.proc.poll() is not None:
            return None, "exited with code %s" % run.proc.returncode
        try:
            status, _, _ = http_get(run.port, max(0.05, deadline - time.monotonic()))
            if status == 200:
                return (time.monotonic() - t0) * 1000.0, None
            last = "status %d" % status
        except (OSError, ValueError, IndexError) as e:
            last = type(e).__name__
        time.sleep(POLL_INTERVAL)
    return None, "no 200 within %.0f s (last: %s)" % (timeout, last)


def check_response(app, port):
    try:
        status, headers, body = http_get(port, 5)
    except OSError as e:
        return "GET / failed: %s" % e
    if status != 200:
        return "GET / -> %d" % status
    if app in ("hello",) and body != b"Hello, world!":
        return "unexpected body %r" % body[:60]
    if app == "json":
        try:
            if len(json.loads(body)) != 20:
                return "json body without 20 keys"
        except ValueError:
            return "body is not JSON: %r" % body[:60]
    if app == "sleep10ms" and not body:
        return "empty body"
    return None


# ---------------------------------------------------------------- wrk

UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m|h)$", text)
    return float(m.group(1)) * UNIT_MS[m.group(2)] if m else None


def parse_wrk(out):
    r = {"rps": None, "requests": 0, "p50_ms": None, "p75_ms": None, "p90_ms": None,
         "p99_ms": None, "errors": {}, "non2xx": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        r["rps"] = float(m.group(1))
    m = re.search(r"(\d+) requests in", out)
    if m:
        r["requests"] = int(m.group(1))
    for pct in ("50", "75", "90", "99"):
        m = re.search(r"^\s+%s(?:\.000)?%%\s+(\S+)" % pct, out, re.M)
        if m:
            r["p%s_ms" % pct] = to_ms(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        r["errors"] = dict(zip(("connect", "read", "write", "timeout"),
                               (int(x) for x in m.groups())))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        r["non2xx"] = int(m.group(1))
    return r


def probe_once(port, timeout):
    """Seconds until a GET on a new connection got its status line, or None
    when it did not within timeout."""
    t0 = time.monotonic()
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sk:
            sk.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            got = b""
            while b"\r\n" not in got:
                left = timeout - (time.monotonic() - t0)
                if left <= 0:
                    return None
                sk.settimeout(left)
                chunk = sk.recv(256)
                if not chunk:
                    return None
                got += chunk
    except OSError:
        return None
    return time.monotonic() - t0


class NewClientProbe:
    """Probes while a load runs (see the module docstring), in a thread."""

    def __init__(self, port, seconds):
        self.port = port
        self.end = time.monotonic() + seconds - PROBE_TIMEOUT
        self.times = []  # seconds, or None for unanswered
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        time.sleep(PROBE_EVERY)  # wrk's connections are all open by now
        while len(self.times) < PROBE_MAX and time.monotonic() < self.end:
            t = probe_once(self.port, PROBE_TIMEOUT)
            self.times.append(t)
            time.sleep(PROBE_EVERY)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.thread.join(PROBE_TIMEOUT + PROBE_EVERY + 5)

    def result(self):
        answered = [t for t in self.times if t is not None]
        return {"probes": len(self.times), "answered": len(answered),
                "max_ms": max(answered) * 1000.0 if answered else None}


def wrk(port, threads, conns, seconds, latency=True):
    argv = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % seconds, "--timeout", "5s"]
    if latency:
        argv.append("--latency")
    argv.append("http://%s:%d/" % (HOST, port))
    try:
        p = subprocess.run(argv, capture_output=True, timeout=seconds + 20,
                           stdin=subprocess.DEVNULL)
        out = p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        out = ""
    r = parse_wrk(out)
    r["cmd"] = " ".join(argv[:-1])
    if r["rps"] is None:
        r["raw"] = out[-800:]
    return r


# ---------------------------------------------------------------- memory


def memory(run, family):
    """RSS/PSS (kB) of the server process and every descendant, with roles."""
    root = run.proc.pid
    pids = [root] + descendants(root)
    procs = []
    for pid in pids:
        st = proc_stat(pid)
        procs.append({
            "pid": pid,
            "ppid": st[0] if st else None,
            "comm": proc_comm(pid),
            "cmdline": cmdline(pid)[:200],
            "rss_kb": read_kb("/proc/%d/status" % pid, "VmRSS:"),
            "pss_kb": read_kb("/proc/%d/smaps_rollup" % pid, "Pss:"),
        })
    # Roles: the root is the master/arbiter. For gaelic, the child of the
    # master named gaelic-zygote is the zygote; the processes it
    # forked are instances, except a pre-forked spare (comm "gaelic-spare"),
    # which counts in the total but not per instance. Everything else below
    # the root is a worker.
    zygotes = set()
    if family == "gaelic":
        for p in procs:
            if p["ppid"] == root and p["comm"] == "gaelic-zygote":
                zygotes.add(p["pid"])
    for p in procs:
        if p["pid"] == root:
            p["role"] = "master"
        elif p["pid"] in zygotes:
            p["role"] = "zygote"
        elif family == "gaelic" and p["comm"] == "gaelic-spare":
            p["role"] = "spare"
        else:
            p["role"] = "worker"
    workers = [p for p in procs if p["role"] == "worker"]

    def total(key, sel):
        vals = [p[key] for p in sel if p[key] is not None]
        return sum(vals) if vals else None

    def mean(key, sel):
        vals = [p[key] for p in sel if p[key] is not None]
        return sum(vals) / len(vals) if vals else None

    return {
        "processes": procs,
        "workers": len(workers),
        "worker_pss_kb": mean("pss_kb", workers),
        "worker_rss_kb": mean("rss_kb", workers),
        "worker_pss_max_kb": max((p["pss_kb"] for p in workers if p["pss_kb"]), default=None),
        "master_pss_kb": total("pss_kb", [p for p in procs if p["role"] == "master"]),
        "master_rss_kb": total("rss_kb", [p for p in procs if p["role"] == "master"]),
        "zygote_pss_kb": total("pss_kb", [p for p in procs if p["role"] == "zygote"]),
        "spares": sum(1 for p in procs if p["role"] == "spare"),
        "spare_pss_kb": total("pss_kb", [p for p in procs if p["role"] == "spare"]),
        "total_pss_kb": total("pss_kb", procs),
        "total_rss_kb": total("rss_kb", procs),
    }


# ---------------------------------------------------------------- one measurement


def measure(server, app, tmp, cfg):
    res = {"server": server.key, "label": server.label, "app": app, "ok": False}
    launches = []
    run = None
    for i in range(cfg.launches):
        t0 = time.monotonic()
        try:
            run = start(server, app, tmp, "launch%d" % i)
        except OSError as e:
            res["error"] = "cannot start: %s" % e
            return res
        ms, why = wait_first_200(run, t0)
        if ms is None:
            res["error"] = "launch %d: %s" % (i + 1, why)
            res["log"] = log_tail(run.logpath)
            stop(run)
            return res
        launches.append(ms)
        if i < cfg.launches - 1:
            stop(run)
    res["launch_ms_all"] = launches
    res["launch_ms"] = statistics.median(launches)
    try:
        bad = check_response(app, run.port)
        if bad:
            res["error"] = bad
            res["log"] = log_tail(run.logpath)
            return res
        served = 0
        w = wrk(run.port, 2, 32, cfg.warmup, latency=False)
        served += w["requests"]
        time.sleep(1.0)
        c1 = wrk(run.port, 1, 1, cfg.c1)
        served += c1["requests"]
        time.sleep(0.5)
        with NewClientProbe(run.port, cfg.c32) as probe:
            c32 = wrk(run.port, 2, 32, cfg.c32)
        c32["new_clients"] = probe.result()
        served += c32["requests"]
        res["c1"], res["c32"] = c1, c32
        # Memory after >= 10k requests: top up with c32 load (bounded).
        topup_s = 0
        if served < MEM_MIN_REQUESTS and cfg.topup_max > 0:
            rate = max(c32["rps"] or 1.0, 1.0)
            topup_s = min(cfg.topup_max, math.ceil((MEM_MIN_REQUESTS - served) / rate) + 1)
            served += wrk(run.port, 2, 32, topup_s, latency=False)["requests"]
        res["requests_before_memory"] = served
        res["topup_s"] = topup_s
        time.sleep(1.0)  # idle
        if run.proc.poll() is not None:
            res["error"] = "server exited during the load (code %s)" % run.proc.returncode
            res["log"] = log_tail(run.logpath)
            return res
        res["memory"] = memory(run, server.family)
        if c32["rps"] is None or c1["rps"] is None:
            res["error"] = "wrk produced no result: %s" % (c32.get("raw") or c1.get("raw") or "")[-200:]
            res["log"] = log_tail(run.logpath)
            return res
        res["ok"] = True
        return res
    finally:
        stop(run)


def combine(rounds):
    """Median over rounds of the numbers that matter; memory from the last good one."""
    good = [r for r in rounds if r.get("ok")]
    if not good:
        return rounds[-1]
    if len(good) == 1:
        out = dict(good[0])
    else:
        out = dict(good[-1])
        out["rounds"] = len(good)
        for phase in ("c1", "c32"):
            out[phase] = dict(good[-1][phase])
            for k in ("rps", "p50_ms", "p99_ms"):
                vals = [r[phase][k] for r in good if r[phase][k] is not None]
                out[phase][k] = statistics.median(vals) if vals else None
            out[phase]["rps_all"] = [r[phase]["rps"] for r in good]
        probes = [r["c32"].get("new_clients") for r in good if r["c32"].get("new_clients")]
        out["c32"]["new_clients"] = {
            "probes": sum(p["probes"] for p in probes),
            "answered": sum(p["answered"] for p in probes),
            "max_ms": max([p["max_ms"] for p in probes if p["max_ms"] is not None], default=None)}
        allms = [ms for r in good for ms in r["launch_ms_all"]]
        out["launch_ms_all"] = allms
        out["launch_ms"] = statistics.median(allms)
    return out


# ---------------------------------------------------------------- reporting


def fmt(v, spec="%.0f", none="-"):
    return none if v is None else spec % v


def mb(kb):
    return None if kb is None else kb / 1024.0


def err_text(res, server):
    c = res.get("c32") or {}
    c1 = res.get("c1") or {}
    parts = []
    for phase, r in (("c1", c1), ("c32", c)):
        e = r.get("errors") or {}
        n = sum(e.values())
        if n:
            kinds = ",".join("%s %d" % (k, v) for k, v in e.items() if v)
            parts.append("%s %s" % (phase, kinds))
        if r.get("non2xx"):
            parts.append("%s non2xx %d" % (phase, r["non2xx"]))
    if parts and server.expect_read_errors and all(
            not ((r.get("errors") or {}).get(k)) for r in (c1, c) for k in ("connect", "write", "timeout")) \
            and not c.get("non2xx") and not c1.get("non2xx"):
        return "read errs (expected: closes per response)"
    return "; ".join(parts)


def print_table(app, results, servers):
    log()
    log("=== %s " % app + "=" * (96 - len(app)))
    hdr = "%-26s %10s %9s %9s %9s %9s %8s %8s %8s %9s  %s" % (
        "server", "req/s c32", "p99 c32", "p50 c1", "p99 c1", "launch", "PSS/wkr", "RSS/wkr",
        "workers", "PSS tot", "notes")
    log(hdr)
    log("%-26s %10s %9s %9s %9s %9s %8s %8s %8s %9s" % ("", "", "ms", "ms", "ms", "ms", "MB", "MB",
                                                         "", "MB"))
    log("-" * len(hdr))
    for s in servers:
        r = results.get(s.key)
        if r is None:
            continue
        if not r.get("ok"):
            log("%-26s %s" % (s.label, "FAILED: " + r.get("error", r.get("skipped", "?"))))
            if r.get("log"):
                log(r["log"])
            continue
        m = r["memory"]
        notes = []
        if app == "sleep10ms" and s.conc_limit:
            lim = min(s.conc_limit, 32) * 100
            notes.append("%.0f%% of %d limit" % (100.0 * r["c32"]["rps"] / lim, lim))
        if starves(r):
            nc = r["c32"]["new_clients"]
            notes.append("starves new clients: %d of %d probes unanswered in %.0f s"
                         % (nc["probes"] - nc["answered"], nc["probes"], PROBE_TIMEOUT))
        e = err_text(r, s)
        if e:
            notes.append(e)
        if r["requests_before_memory"] < MEM_MIN_REQUESTS:
            notes.append("mem after %d req" % r["requests_before_memory"])
        log("%-26s %10s %9s %9s %9s %9s %8s %8s %8s %9s  %s" % (
            s.label, fmt(r["c32"]["rps"]), fmt(r["c32"]["p99_ms"], "%.2f"),
            fmt(r["c1"]["p50_ms"], "%.3f"),
            fmt(r["c1"]["p99_ms"], "%.3f"), fmt(r["launch_ms"], "%.1f"),
            fmt(mb(m["worker_pss_kb"]), "%.1f"), fmt(mb(m["worker_rss_kb"]), "%.1f"),
            m["workers"], fmt(mb(m["total_pss_kb"]), "%.1f"), "; ".join(notes)))
        if s.family == "gaelic":
            amort = (m["total_pss_kb"] / m["workers"]) if m["workers"] and m["total_pss_kb"] else None
            log("%-26s master PSS %s MB, zygote %s MB, %d spare(s) %s MB, %d instances; "
                "total/instances %s MB" % (
                    "", fmt(mb(m["master_pss_kb"]), "%.1f"), fmt(mb(m["zygote_pss_kb"]), "%.1f"),
                    m["spares"], fmt(mb(m["spare_pss_kb"]), "%.1f", "0"), m["workers"],
                    fmt(mb(amort), "%.1f")))


def starves(r):
    """Whether new clients went unanswered during r's c32 load."""
    nc = (r.get("c32") or {}).get("new_clients")
    return bool(nc and nc["probes"] and nc["answered"] < nc["probes"])


def best(results, servers, family, key):
    """(server, result) of `family` with the best value of key(result)."""
    cands = [(s, results[s.key]) for s in servers
             if s.family == family and results.get(s.key, {}).get("ok")]
    cands = [(s, r) for s, r in cands if key(r) is not None]
    return cands


def ratios_and_targets(app, results, servers):
    """Print gaelic's ratios and the targets for this app; return them for JSON."""
    out = []
    ok = lambda k: results.get(k, {}).get("ok")
    rps = lambda r: r["c32"]["rps"]
    uw = best(results, servers, "uwsgi", rps)
    uw_best = max(uw, key=lambda sr: rps(sr[1])) if uw else None
    uw_fair = [sr for sr in uw if not starves(sr[1])]
    uw_fair_best = max(uw_fair, key=lambda sr: rps(sr[1])) if uw_fair else None
    uw_launch = min(uw, key=lambda sr: sr[1]["launch_ms"]) if uw else None
    uw_mem = [sr for sr in uw if sr[1]["memory"]["worker_pss_kb"]]
    uw_pss = min(uw_mem, key=lambda sr: sr[1]["memory"]["worker_pss_kb"]) if uw_mem else None
    gth = results.get("gunicorn-gthread") if ok("gunicorn-gthread") else None
    ngx = results.get("nginx") if ok("nginx") else None
    for g in [s for s in servers if s.family == "gaelic" and s.key in results]:
        gr = results[g.key]
        if not gr.get("ok"):
            continue
        log()
        log("%s on %s:" % (g.label, app))
        entry = {"server": g.key, "app": app, "ratios": {}, "targets": []}

        def ratio(name, num, den, label):
            if num is None or not den:
                log("  %-44s n/a" % label)
                return None
            v = num / den
            entry["ratios"][name] = v
            log("  %-44s %.2fx" % (label, v))
            return v

        r_uw = ratio("rps_vs_uwsgi_best", rps(gr), rps(uw_best[1]) if uw_best else None,
                     "req/s c32 vs uWSGI best (%s)" % (uw_best[0].label if uw_best else "-"))
        if uw_best and starves(uw_best[1]):
            ratio("rps_vs_uwsgi_best_serving_all", rps(gr),
                  rps(uw_fair_best[1]) if uw_fair_best else None,
                  "req/s c32 vs uWSGI best answering new clients (%s)"
                  % (uw_fair_best[0].label if uw_fair_best else "-"))
        if starves(gr):
            log("  note: %s left new clients unanswered under this load" % g.label)
        r_gt = ratio("rps_vs_gunicorn_gthread", rps(gr), rps(gth) if gth else None,
                     "req/s c32 vs gunicorn gthread")
        if app == "hello":
            ratio("rps_vs_nginx", rps(gr), rps(ngx) if ngx else None, "req/s c32 vs nginx ceiling")
        ratio("p50_c1_vs_uwsgi_best", gr["c1"]["p50_ms"],
              uw_best[1]["c1"]["p50_ms"] if uw_best else None,
              "p50 c1 vs uWSGI best (lower is better)")
        r_l = ratio("launch_vs_uwsgi", gr["launch_ms"],
                    uw_launch[1]["launch_ms"] if uw_launch else None,
                    "launch vs uWSGI fastest (%s)" % (uw_launch[0].label if uw_launch else "-"))
        r_m = ratio("pss_per_instance_vs_uwsgi_worker", gr["memory"]["worker_pss_kb"],
                    uw_pss[1]["memory"]["worker_pss_kb"] if uw_pss else None,
                    "PSS/instance vs uWSGI worker (%s)" % (uw_pss[0].label if uw_pss else "-"))

        if uw_best:
            ratio("total_pss_vs_uwsgi_best_mode", gr["memory"]["total_pss_kb"],
                  uw_best[1]["memory"]["total_pss_kb"],
                  "total PSS vs uWSGI best mode (all processes)")

        def target(name, value, passed, desc):
            verdict = "n/a " if passed is None else ("PASS" if passed else "MISS")
            entry["targets"].append({"target": name, "pass": passed, "value": value,
                                     "desc": desc})
            log("  [%s] %s" % (verdict, desc))

        if app == "hello":
            target("hello_vs_uwsgi_best", r_uw, None if r_uw is None else r_uw >= 1.0,
                   "hello req/s >= 1.0x uWSGI best: %s%s" % (
                       fmt(r_uw, "%.2fx", "n/a"),
                       " (that mode starves new clients)"
                       if uw_best and starves(uw_best[1]) else ""))
            target("hello_vs_gunicorn_gthread", r_gt, None if r_gt is None else r_gt >= 4.0,
                   "hello req/s >= 4x gunicorn gthread: %s" % fmt(r_gt, "%.2fx", "n/a"))
        if app == "sleep10ms":
            lim = min(g.conc_limit, 32) * 100
            frac = rps(gr) / lim
            target("sleep10ms_vs_thread_limit", frac, frac >= 0.9,
                   "sleep10ms >= 90%% of limit %d req/s (min(instances x %d threads, %d "
                   "concurrent, 32 conns) x 100): %.0f req/s = %.0f%%"
                   % (lim, GAELIC_THREADS, GAELIC_MAX_CONCURRENT, rps(gr), 100 * frac))
        target("launch_vs_uwsgi", gr["launch_ms"], None if r_l is None else r_l <= 1.0,
               "launch-to-first-200 <= uWSGI: %.1f ms vs %s ms" % (
                   gr["launch_ms"], fmt(uw_launch[1]["launch_ms"] if uw_launch else None, "%.1f")))
        target("pss_vs_uwsgi_worker", gr["memory"]["worker_pss_kb"],
               None if r_m is None else r_m < 1.0,
               "PSS per idle instance < uWSGI worker: %s MB vs %s MB" % (
                   fmt(mb(gr["memory"]["worker_pss_kb"]), "%.1f"),
                   fmt(mb(uw_pss[1]["memory"]["worker_pss_kb"]) if uw_pss else None, "%.1f")))
        out.append(entry)
    return out


def versions():
    def run(argv):
        try:
            p = subprocess.run(argv, capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
            return (p.stdout + p.stderr).decode("utf-8", "replace").strip().splitlines()[0]
        except (OSError, subprocess.SubprocessError, IndexError):
            return None
    return {
        "python": run([PY, "--version"]),
        "gunicorn": run([PY, "-c", "import gunicorn; print(gunicorn.__version__)"]),
        "uwsgi": run(["uwsgi", "--version"]),
        "nginx": run(["nginx", "-v"]),
        "wrk": run(["wrk", "-v"]),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
    }


# ---------------------------------------------------------------- main


def env_int(name, default):
    v = os.environ.get(name)
    if v is None or v == "":
        return default
    try:
        return max(1, int(float(v)))
    except ValueError:
        sys.exit("run.py: %s must be a number of seconds, got %r" % (name, v))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="short runs (1 s warm-up, 1 s c1, 2 s c32, no memory top-up)")
    ap.add_argument("--only", default="",
                    help="comma list of server families or keys (gaelic, uwsgi, gunicorn, "
                         "nginx, uwsgi-http11-2x8, ...)")
    ap.add_argument("--apps", default=",".join(ALL_APPS), help="comma list of apps")
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat the load per server, alternating order (A B A B); "
                         "medians are reported")
    ap.add_argument("--gaelic", default=os.path.join(ROOT, "build", "gaelic"))
    ap.add_argument("--json", default=os.path.join(ROOT, "build", "bench-results.json"))
    ap.add_argument("--keep-logs", action="store_true", help="keep the servers' logs")
    ap.add_argument("--no-snapshot", action="store_true",
                    help="run build/gaelic and python/ in place instead of a copy taken "
                         "at the start (a rebuild during the run would then be measured)")
    args = ap.parse_args()

    if args.quick:
        warmup, c1, c32, topup_max = 1, 1, 2, 0
    else:
        warmup, c1, c32, topup_max = 1, 3, 4, 15
    base = os.environ.get("BENCH_SECONDS")
    if base:
        c1 = c32 = env_int("BENCH_SECONDS", c32)
    c1 = env_int("BENCH_C1_SECONDS", c1)
    c32 = env_int("BENCH_C32_SECONDS", c32)
    warmup = env_int("BENCH_WARMUP_SECONDS", warmup)

    class Cfg:
        pass
    cfg = Cfg()
    cfg.warmup, cfg.c1, cfg.c32, cfg.topup_max = warmup, c1, c32, topup_max
    cfg.launches = 5  # single launches of every server vary by +-30%
    rounds = max(1, min(args.rounds, 20))

    if not shutil.which("wrk"):
        sys.exit("run.py: wrk is not installed; run scripts/deps.sh bench as root")

    apps = [a for a in args.apps.split(",") if a]
    for a in apps:
        if not os.path.isfile(os.path.join(app_dir(a), "main.py")):
            sys.exit("run.py: no app %s in %s" % (a, APPS_DIR))
    want = [w.strip() for w in args.only.split(",") if w.strip()]
    keys = {(s.key, s.family) for s in make_servers("gaelic")}
    if want and not any(k in want or f in want for k, f in keys):
        sys.exit("run.py: --only %s matches no server" % args.only)
    load0 = os.getloadavg()
    tmp = tempfile.mkdtemp(prefix="gaelic-bench-")
    gaelic_bin = os.path.abspath(args.gaelic)
    gaelic_info = {"binary": gaelic_bin, "snapshot": False}
    uses_gaelic = not want or any(f == "gaelic" and (k in want or f in want) for k, f in keys)
    if os.path.isfile(gaelic_bin) and uses_gaelic:
        st = os.stat(gaelic_bin)
        gaelic_info["mtime"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(st.st_mtime))
        if not args.no_snapshot:
            gaelic_bin = snapshot_gaelic(gaelic_bin, tmp)
            gaelic_info["snapshot"] = True
    servers = make_servers(gaelic_bin)
    if want:
        servers = [s for s in servers if s.family in want or s.key in want]

    log("gaelic bench: %s; warm-up %ds, wrk -t1 -c1 -d%ds then -t2 -c32 -d%ds, "
        "%d launches, %d round(s)" % (", ".join(apps), warmup, c1, c32, cfg.launches, rounds))
    unavailable = {}
    for s in servers:
        why = s.check() if s.check else None
        if why:
            unavailable[s.key] = why
            log("  skip %-24s %s" % (s.label, why))

    gaelic_info.update(git_state())
    log("gaelic: %s (built %s; repo %s%s)%s" % (
        gaelic_info["binary"], gaelic_info.get("mtime", "-"), gaelic_info["head"],
        " + local changes" if gaelic_info["dirty"] else "",
        "; measuring a snapshot copy with its python/" if gaelic_info["snapshot"] else ""))
    log("load average at start: %.2f %.2f %.2f (%d CPUs)" % (load0 + (os.cpu_count(),)))
    report = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "versions": versions(),
              "config": {"warmup_s": warmup, "c1_s": c1, "c32_s": c32,
                         "launches": cfg.launches, "rounds": rounds, "quick": args.quick,
                         "gaelic": gaelic_info},
              "results": {}, "gaelic": []}
    t_start = time.monotonic()
    interrupted = False
    try:
        for app in apps:
            per = {}
            runnable = [s for s in servers if s.apps is None or app in s.apps]
            for s in runnable:
                if s.key in unavailable:
                    per[s.key] = {"ok": False, "skipped": unavailable[s.key],
                                  "error": "not run: " + unavailable[s.key]}
            todo = [s for s in runnable if s.key not in unavailable]
            collected = {s.key: [] for s in todo}
            for rnd in range(rounds):
                order = todo if rnd % 2 == 0 else list(reversed(todo))
                for s in order:
                    log("  %-10s %-26s round %d ..." % (app, s.label, rnd + 1))
                    r = measure(s, app, tmp, cfg)
                    collected[s.key].append(r)
                    if r.get("ok"):
                        log("  %-10s %-26s %8.0f req/s c32, p50 c1 %.3f ms, launch %.1f ms"
                            % ("", "", r["c32"]["rps"], r["c1"]["p50_ms"] or -1, r["launch_ms"]))
                    else:
                        log("  %-10s %-26s FAILED: %s" % ("", "", r.get("error")))
            for k, rs in collected.items():
                per[k] = combine(rs)
            report["results"][app] = per
            print_table(app, per, runnable)
            report["gaelic"] += ratios_and_targets(app, per, runnable)
    except KeyboardInterrupt:
        interrupted = True
        log("\ninterrupted; writing what was measured")
    finally:
        report["elapsed_s"] = round(time.monotonic() - t_start, 1)
        report["loadavg_start"] = list(load0)
        report["loadavg_end"] = list(os.getloadavg())
        report["interrupted"] = interrupted
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, sort_keys=True)
        if args.keep_logs:
            log("logs kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    targets = [t for e in report["gaelic"] for t in e["targets"]]
    log()
    if targets:
        log("targets (issue 2), gaelic:")
        for e in report["gaelic"]:
            for t in e["targets"]:
                v = "n/a " if t["pass"] is None else ("PASS" if t["pass"] else "MISS")
                log("  [%s] %-24s %-10s %s" % (v, e["server"], e["app"], t["desc"]))
    else:
        log("no gaelic results; targets not evaluated")
    log("notes: uWSGI --http-socket closes after each response, so wrk counts one read "
        "error per request (responses are complete). nginx serves a fixed body (hello only). "
        "CPU-bound rows swing +-25-60% between runs on this shared 2-core box; compare "
        "same-run ratios only.")
    log("load average at end: %.2f %.2f %.2f" % tuple(report["loadavg_end"]))
    log("results written to %s (%.0f s)" % (args.json, report["elapsed_s"]))
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
