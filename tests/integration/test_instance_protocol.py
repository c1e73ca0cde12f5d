"""The zygote and instance processes, driven directly over their protocols
(src/zygote_proto.h, src/ipc.h) without the master.

Run: /usr/bin/python3 -m pytest tests/integration/test_instance_protocol.py
The binary is gaelic-instance, beside $GAELIC_BIN (default build/gaelic).
"""
import os
import py_compile
import select
import signal
import socket
import struct
import subprocess
import tempfile
import textwrap
import threading
import time
import zipfile

import pytest

from harness import children, comm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MASTER_BIN = os.path.join(ROOT, os.environ.get("GAELIC_BIN", "build/gaelic"))
BIN = os.path.join(os.path.dirname(MASTER_BIN), "gaelic-instance")
PYTHON_DIR = os.path.join(ROOT, "python")

ZY_SPAWN, ZY_SPAWNED, ZY_EXITED, ZY_FORKED = 1, 2, 3, 4
ZY_MSG = struct.Struct("<IIii64s")
IPC_READY, IPC_REQUEST, IPC_RESPONSE, IPC_LOG, IPC_SHUTDOWN = 1, 2, 3, 4, 5
IPC_BACKGROUND_START, IPC_BACKGROUND_END, IPC_API_CPU, IPC_BACKGROUND_STARTED = 9, 10, 11, 13
IPC_HDR = struct.Struct("<IHHI")
IPC_MAX_PAYLOAD = 64 << 20
TIMEOUT = 10.0

APP_FILES = {
    "hello.py": """
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"Hello, world!"]
    """,
    "validated.py": """
        from wsgiref.validate import validator

        def _app(environ, start_response):
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.errors"].write("validated app ran\\n")
            start_response("200 OK", [("Content-Type", "text/plain"),
                                      ("Content-Length", str(len(body) + 3))])
            return [b"ok:", body]

        app = validator(_app)
    """,
    "envapp.py": """
        import os, threading

        # All eight requests are inside the handler at once before any
        # reads its environment back (or "serial" after 20 s alone).
        together = threading.Barrier(8, timeout=20)

        def app(environ, start_response):
            mine = environ["HTTP_X_TAG"]
            os.environ["TAG_COPY"] = mine
            try:
                together.wait()
            except threading.BrokenBarrierError:
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"serial"]
            seen = "%s|%s|%s|%s" % (os.environ.get("TAG_COPY"), os.getenv("HTTP_X_TAG"),
                                    "wsgi.input" in os.environ, os.environ.get("HOME"))
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [seen.encode()]
    """,
    "gateapp.py": """
        import threading

        # Held until the "opener" request comes; the others wait for it in a
        # bare lock acquire, a wait the runtime cannot see.
        gate = threading.Lock()
        gate.acquire()

        def app(environ, start_response):
            tag = environ["HTTP_X_TAG"]
            if tag == "opener":
                gate.release()
            elif tag != "first":
                with gate:
                    pass
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [tag.encode()]
    """,
    "keptapp.py": """
        import threading, time
        import _gaelic
        from google.appengine.api.runtime import shutdown
        from google.appengine.runtime import request_state

        # Set by the shutdown hook, which the main thread runs once
        # IPC_SHUTDOWN is read: past it, the main thread waits for the
        # requests to drain and exits.
        stopping = threading.Event()

        def cpu_hook(request, cpu_us):
            if request == 0xC0FFEE:
                # Runs in the worker that read the burst, after the
                # IPC_SHUTDOWN in it, with the burst's first request in
                # hand; the pause gives the main thread time to exit.
                stopping.wait(10)
                time.sleep(0.2)
            request_state.add_api_cpu(request, cpu_us)

        def setup(environ, start_response):
            shutdown.set_shutdown_hook(stopping.set)
            _gaelic.set_api_cpu_hook(cpu_hook)
            start_response("200 OK", [])
            return [b"set"]

        def app(environ, start_response):
            start_response("200 OK", [])
            return [b"ran"]
    """,
    "threads_app.py": """
        import os, threading, time
        finished = []

        def app(environ, start_response):
            if environ["PATH_INFO"] == "/check":
                start_response("200 OK", [])
                return [repr(finished).encode()]
            def work(n):
                time.sleep(0.3)
                os.environ["CHILD_WRITE"] = "x"
                # A grandchild must be joined too.
                g = threading.Thread(target=lambda: (time.sleep(0.2),
                                                     finished.append("grandchild")))
                g.start()
                finished.append((n, os.environ.get("HTTP_X_TAG")))
            os.environ["HTTP_X_TAG"] = "changed-before-start"
            threading.Thread(target=work, args=(1,), daemon=True).start()
            start_response("200 OK", [])
            return [repr(os.environ.get("CHILD_WRITE")).encode()]
    """,
    "broken.py": """
        raise RuntimeError("this module cannot be imported")
    """,
    "flaky.py": """
        import builtins
        n = getattr(builtins, "flaky_imports", 0)
        builtins.flaky_imports = n + 1
        if n == 0:
            raise RuntimeError("first import fails")

        def app(environ, start_response):
            start_response("200 OK", [])
            return [b"imported on attempt %d" % (n + 1)]
    """,
    "dies.py": """
        import os

        def app(environ, start_response):
            os._exit(7)
    """,
    "misc.py": """
        import os, sys, time, threading

        def bad_status(environ, start_response):
            start_response(200, [])
            return [b"x"]

        def hop(environ, start_response):
            start_response("200 OK", [("Connection", "close")])
            return [b"x"]

        def text_body(environ, start_response):
            start_response("200 OK", [])
            return ["not bytes"]

        def raises(environ, start_response):
            raise ValueError("handler blew up")

        def exc_info_late(environ, start_response):
            write = start_response("200 OK", [])
            write(b"partial")
            try:
                raise KeyError("late")
            except KeyError:
                start_response("500 Oops", [], sys.exc_info())
            return [b"never"]

        def exc_info_early(environ, start_response):
            start_response("200 OK", [("X-A", "1")])
            try:
                raise KeyError("early")
            except KeyError:
                start_response("503 Try Later", [("X-B", "2")], sys.exc_info())
            return [b"replaced"]

        class Closing:
            closed = []
            def __init__(self):
                self.parts = [b"a", b"", b"b"]
            def __iter__(self):
                return iter(self.parts)
            def close(self):
                Closing.closed.append(1)

        def closing(environ, start_response):
            start_response("201 Created", [("X-Closed-Before", str(len(Closing.closed)))])
            return Closing()

        def huge(environ, start_response):
            start_response("200 OK", [])
            return [b"x" * (64 << 20), b"y"]

        def echo_env(environ, start_response):
            out = "%r|%r|%r|%r|%r" % (environ["HTTP_X_LATIN"], environ["wsgi.url_scheme"],
                                      environ["wsgi.multithread"], environ["wsgi.version"],
                                      type(environ).__name__)
            print("stdout-goes-to-log")
            start_response("200 OK", [("X-Latin", environ["HTTP_X_LATIN"])])
            return [out.encode("utf-8")]

        def slow(environ, start_response):
            time.sleep(0.5)
            start_response("200 OK", [])
            return [b"slow done"]

        def stuck(environ, start_response):
            time.sleep(30)
            start_response("200 OK", [])
            return [b"stuck done"]

        def echo(environ, start_response):
            body = environ["wsgi.input"].read()
            start_response("200 OK", [("X-Length", str(len(body)))])
            return [body[::-1]]

        def pid(environ, start_response):
            start_response("200 OK", [])
            return [str(os.getpid()).encode()]

        def background_environ(environ, start_response):
            # What background_thread does: the master's answer to the start
            # is the thread's own environ.
            import _gaelic
            env = _gaelic.background_started(0x80000001)
            _gaelic.background_ended(0x80000001, False, 5000000007000)
            start_response("200 OK", [])
            return [("%s %s %s" % (type(env).__name__, env["REQUEST_LOG_ID"],
                                   env["PATH_INFO"])).encode()]

        def background_cpu_cap(environ, start_response):
            import _gaelic
            _gaelic.background_started(0x80000003)
            _gaelic.background_ended(0x80000003, True, 2 ** 64 - 1)
            start_response("200 OK", [])
            return [b"ended"]
    """,
    "pkg/__init__.py": "",
    "pkg/sub/__init__.py": "",
    "pkg/sub/handlers.py": """
        class Holder:
            @staticmethod
            def application(environ, start_response):
                start_response("200 OK", [])
                return [b"nested attribute"]

        def application(environ, start_response):
            start_response("200 OK", [])
            return [b"from a package"]
    """,
    "imports_extra.py": """
        import sys
        sys.path.insert(0, "lib.zip")
        import compiled_only      # sourceless .pyc in the app root
        import zipped             # pure Python inside lib.zip

        def app(environ, start_response):
            start_response("200 OK", [])
            return [(compiled_only.VALUE + "+" + zipped.VALUE).encode()]
    """,
}


def _write_app(root):
    for name, text in APP_FILES.items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text))
    # A sourceless module: only compiled_only.pyc, no .py beside it.
    src = os.path.join(root, "compiled_only_src.py")
    with open(src, "w") as f:
        f.write('VALUE = "from-pyc"\n')
    py_compile.compile(src, cfile=os.path.join(root, "compiled_only.pyc"), doraise=True)
    os.unlink(src)
    with zipfile.ZipFile(os.path.join(root, "lib.zip"), "w") as z:
        z.writestr("zipped.py", 'VALUE = "from-zip"\n')


def _recv_exact(sock, n):
    data = b""
    while len(data) < n:
        r, _, _ = select.select([sock], [], [], TIMEOUT)
        if not r:
            raise TimeoutError("no data from the instance")
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("channel closed")
        data += chunk
    return data


def _bytes(b):
    return struct.pack("<I", len(b)) + b


def _get_bytes(payload, off):
    (n,) = struct.unpack_from("<I", payload, off)
    off += 4
    return payload[off:off + n], off + n


class Instance:
    def __init__(self, zygote, no, pid, pidfd, chan):
        self.zygote, self.no, self.pid, self.pidfd, self.chan = zygote, no, pid, pidfd, chan
        self.lock = threading.Lock()
        self.pending = {}
        self.app_logs = []  # (request id, level, message) from IPC_LOG frames

    def send_frame(self, type_, id_, payload=b"", flags=0):
        self.chan.sendall(IPC_HDR.pack(len(payload), type_, flags, id_) + payload)

    def read_frame(self):
        length, type_, _flags, id_ = IPC_HDR.unpack(_recv_exact(self.chan, IPC_HDR.size))
        return type_, id_, _recv_exact(self.chan, length)

    def send_request(self, id_, script, env=None, body=b""):
        self.chan.sendall(self.request_frame(id_, script, env, body))

    def request_frame(self, id_, script, env=None, body=b""):
        e = {"REQUEST_METHOD": "GET", "SERVER_NAME": "localhost", "SERVER_PORT": "8080",
             "SERVER_PROTOCOL": "HTTP/1.1", "SCRIPT_NAME": "", "PATH_INFO": "/",
             "QUERY_STRING": "", "CONTENT_LENGTH": str(len(body))}
        e.update(env or {})
        payload = self.environ_payload(script, e, body)
        return IPC_HDR.pack(len(payload), IPC_REQUEST, 0, id_) + payload

    def environ_payload(self, script, env, body=b""):
        """IPC_REQUEST's payload layout (IPC_BACKGROUND_STARTED's too)."""
        parts = [_bytes(script.encode()), struct.pack("<I", len(env))]
        for k, v in env.items():
            parts += [_bytes(k.encode("latin-1")),
                      _bytes(v.encode("latin-1") if isinstance(v, str) else v)]
        return b"".join(parts) + _bytes(body)

    def read_response(self):
        while True:
            type_, id_, payload = self.read_frame()
            if type_ == IPC_LOG:
                (level,) = struct.unpack_from("<I", payload, 0)
                message, off = _get_bytes(payload, 4)
                assert off == len(payload)
                self.app_logs.append((id_, level, message.decode("utf-8")))
                continue
            if type_ in (IPC_BACKGROUND_START, IPC_BACKGROUND_END):
                continue  # /_ah/stop's request log opening and ending: no answer due
            assert type_ == IPC_RESPONSE, type_
            # payload starts with the request's CPU microseconds (u64), unused here
            status, off = _get_bytes(payload, 8)
            (n,) = struct.unpack_from("<I", payload, off)
            off += 4
            headers = []
            for _ in range(n):
                name, off = _get_bytes(payload, off)
                value, off = _get_bytes(payload, off)
                headers.append((name.decode("latin-1"), value.decode("latin-1")))
            body, off = _get_bytes(payload, off)
            assert off == len(payload)
            return id_, status.decode("latin-1"), headers, body

    def log_text(self):
        """Every app log message received so far, one per line."""
        return "\n".join(m for _, _, m in self.app_logs)

    def request(self, script, env=None, body=b"", id_=1):
        self.send_request(id_, script, env, body)
        rid, status, headers, body = self.read_response()
        assert rid == id_
        return status, headers, body


class Zygote:
    def __init__(self, app_dir, threads=1):
        self.sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.log = tempfile.TemporaryFile()
        env = {"PATH": "/usr/bin:/bin", "ASAN_OPTIONS": "detect_leaks=0"}
        self.proc = subprocess.Popen(
            [BIN, "--app", app_dir, "--python", PYTHON_DIR,
             "--threads", str(threads), "--fd", str(child.fileno())],
            pass_fds=[child.fileno()], stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=self.log, env=env)
        child.close()
        self.instances = []
        self.exited = []  # ZY_EXITED messages received while waiting for others
        # What the zygote says of its spares: ("forked"|"dropped", pid, status)
        self.spare_reports = []

    def stderr(self):
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def recv_msg(self, timeout=TIMEOUT):
        """The next message about an instance; those about spares (forked,
        or dropped unused: ZY_EXITED for instance 0) go to spare_reports."""
        deadline = time.monotonic() + timeout
        while True:
            r, _, _ = select.select([self.sock], [], [], max(0, deadline - time.monotonic()))
            if not r:
                raise TimeoutError("no message from the zygote; log:\n" + self.stderr())
            msg, fds, _flags, _addr = socket.recv_fds(self.sock, ZY_MSG.size, 4)
            assert len(msg) == ZY_MSG.size, msg
            m = ZY_MSG.unpack(msg)
            if m[0] == ZY_FORKED or (m[0] == ZY_EXITED and m[1] == 0):
                assert not fds, m
                self.spare_reports.append(("forked" if m[0] == ZY_FORKED else "dropped",
                                           m[2], m[3]))
                continue
            return m, fds

    def spawn(self, no, instance_id=b"inst-0", ready=True, nonblocking=False):
        kind = socket.SOCK_STREAM | (socket.SOCK_NONBLOCK if nonblocking else 0)
        mine, theirs = socket.socketpair(socket.AF_UNIX, kind)
        mine.setblocking(True)  # only our end: the flag is per file
        socket.send_fds(self.sock, [ZY_MSG.pack(ZY_SPAWN, no, 0, 0, instance_id)],
                        [theirs.fileno()])
        theirs.close()
        while True:
            (type_, rno, pid, status, _), fds = self.recv_msg()
            if type_ == ZY_EXITED:
                self.exited.append((rno, pid, status))
                continue
            break
        assert (type_, rno, status) == (ZY_SPAWNED, no, 0), (type_, rno, status, self.stderr())
        assert pid > 0 and len(fds) == 1
        inst = Instance(self, no, pid, fds[0], mine)
        self.instances.append(inst)
        if ready:
            t, i, payload = inst.read_frame()
            assert (t, i, payload) == (IPC_READY, 0, b"")
        return inst

    def wait_exited(self, no, timeout=TIMEOUT):
        for e in self.exited:
            if e[0] == no:
                self.exited.remove(e)
                return e
        deadline = time.monotonic() + timeout
        while True:
            (type_, rno, pid, status, _), fds = self.recv_msg(max(0.01, deadline - time.monotonic()))
            for fd in fds:
                os.close(fd)
            if type_ == ZY_EXITED and rno == no:
                return rno, pid, status
            if type_ == ZY_EXITED:
                self.exited.append((rno, pid, status))

    def stop(self):
        """Stops everything started here (by pid/pidfd) and returns the
        combined stderr of the zygote and its instances."""
        for inst in self.instances:
            try:
                signal.pidfd_send_signal(inst.pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.close(inst.pidfd)
            inst.chan.close()
        self.sock.close()  # EOF: the zygote kills what is left and exits
        try:
            self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        log = self.stderr()
        self.log.close()
        return log


def _check_no_sanitizer_reports(log):
    for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
        assert marker not in log, log


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory):
    if not os.access(BIN, os.X_OK):
        pytest.skip("no gaelic-instance binary at %s (set GAELIC_BIN)" % BIN)
    root = str(tmp_path_factory.mktemp("app"))
    _write_app(root)
    return root


@pytest.fixture
def zygote(app_dir):
    z = Zygote(app_dir, threads=1)
    yield z
    _check_no_sanitizer_reports(z.stop())


@pytest.fixture
def zygote8(app_dir):
    z = Zygote(app_dir, threads=8)
    yield z
    _check_no_sanitizer_reports(z.stop())


def test_hello(zygote):
    inst = zygote.spawn(1)
    status, headers, body = inst.request("hello.app")
    assert status == "200 OK"
    assert headers == [("Content-Type", "text/plain")]
    assert body == b"Hello, world!"


def test_wsgiref_validate_passes(zygote):
    inst = zygote.spawn(1)
    status, headers, body = inst.request("validated.app", {"REQUEST_METHOD": "POST",
                                                           "CONTENT_TYPE": "text/plain"},
                                         body=b"payload")
    assert (status, body) == ("200 OK", b"ok:payload"), zygote.stderr()
    assert (1, 2, "validated app ran") in inst.app_logs  # wsgi.errors: a warning line
    log = zygote.stderr() + inst.log_text()
    assert "Warning" not in log and "Traceback" not in log, log


def test_package_and_nested_attribute(zygote):
    inst = zygote.spawn(1)
    assert inst.request("pkg.sub.handlers.application")[2] == b"from a package"
    assert inst.request("pkg.sub.handlers.Holder.application")[2] == b"nested attribute"


def test_environ_native_strings_and_stdout_is_log(zygote):
    inst = zygote.spawn(1)
    status, headers, body = inst.request("misc.echo_env", {"HTTP_X_LATIN": b"caf\xe9",
                                                          "HTTPS": "on"})
    assert status == "200 OK"
    assert body.decode("utf-8") == "'caf\xe9'|'https'|False|(1, 0)|'dict'"
    assert ("X-Latin", "caf\xe9") in headers
    assert any(level == 1 and "stdout-goes-to-log" in m for _, level, m in inst.app_logs)


def test_os_environ_is_per_request_thread(zygote8):
    inst = zygote8.spawn(1)
    for i in range(8):
        inst.send_request(i + 1, "envapp.app", {"HTTP_X_TAG": "tag-%d" % i})
    results = {}
    for _ in range(8):
        rid, status, _, body = inst.read_response()
        assert status == "200 OK"
        results[rid] = body.decode()
    # Each ran while the seven others were in their handlers (the barrier),
    # and saw only its own environment.
    for i in range(8):
        assert results[i + 1] == "tag-%d|tag-%d|False|None" % (i, i), results


def test_queued_requests_reach_idle_workers_while_the_runners_wait(zygote8):
    """Eight requests in one write: the worker that reads them (the one
    that answered the first request reads the channel next) runs the first
    and queues the rest. Each waiter blocks where the runtime cannot see it
    (a bare lock), so only the reader thread's stall tick hands the queue
    to idle workers, one a tick. It used to hand over one and then block
    reading the channel itself, leaving the rest (the opener among them)
    queued beside idle workers until another frame came: for ever here."""
    inst = zygote8.spawn(1)
    assert inst.request("gateapp.app", {"HTTP_X_TAG": "first"}, id_=100)[2] == b"first"
    tags = ["waiter-%d" % i for i in range(7)] + ["opener"]
    inst.chan.sendall(b"".join(inst.request_frame(i + 1, "gateapp.app", {"HTTP_X_TAG": tag})
                               for i, tag in enumerate(tags)))
    answers = {}
    for _ in tags:
        rid, status, _, body = inst.read_response()
        answers[rid] = (status, body.decode())
    assert answers == {i + 1: ("200 OK", tag) for i, tag in enumerate(tags)}


def test_request_threads_are_joined(zygote):
    inst = zygote.spawn(1)
    start = time.monotonic()
    status, _, body = inst.request("threads_app.app", {"HTTP_X_TAG": "t1"})
    assert time.monotonic() - start >= 0.5  # child 0.3 s + grandchild 0.2 s
    assert status == "200 OK"
    assert body == b"None"  # the child's os.environ write stayed in its copy
    _, _, body = inst.request("threads_app.app", {"PATH_INFO": "/check"})
    assert body == b"[(1, 'changed-before-start'), 'grandchild']"


def test_import_error_is_500_with_traceback(zygote):
    inst = zygote.spawn(1)
    status, _, body = inst.request("broken.app")
    assert status.startswith("500 ")
    assert b"Server Error" in body
    log = inst.log_text()
    assert "broken.app: Traceback (most recent call last):" in log
    assert "broken.app: RuntimeError: this module cannot be imported" in log


def test_failed_import_is_retried(zygote):
    inst = zygote.spawn(1)
    assert inst.request("flaky.app")[0].startswith("500 ")
    status, _, body = inst.request("flaky.app")
    assert (status, body) == ("200 OK", b"imported on attempt 2")


def test_missing_cgi_script_is_404(zygote):
    # CGI scripts themselves are covered by test_cgi.py.
    inst = zygote.spawn(1)
    assert inst.request("cgi/script.py")[0] == "404 Not Found"
    assert "cgi/script.py: script file not found" in inst.log_text()


def test_hop_by_hop_header_passes_to_the_master(zygote):
    # The master drops it (test_wsgi.py), as App Engine did: no 500.
    inst = zygote.spawn(1)
    assert inst.request("misc.hop") == ("200 OK", [("Connection", "close")], b"x")


@pytest.mark.parametrize("handler", ["misc.bad_status", "misc.text_body",
                                     "misc.raises", "misc.exc_info_late", "misc.nothing",
                                     "nosuchmodule.app"])
def test_app_errors_are_500(zygote, handler):
    inst = zygote.spawn(1)
    status, headers, body = inst.request(handler)
    assert status == "500 Internal Server Error"
    assert headers == [("Content-Type", "text/html; charset=utf-8")]


def test_exc_info_before_body_replaces_response(zygote):
    inst = zygote.spawn(1)
    assert inst.request("misc.exc_info_early") == ("503 Try Later", [("X-B", "2")], b"replaced")


def test_close_is_called(zygote):
    inst = zygote.spawn(1)
    assert inst.request("misc.closing") == ("201 Created", [("X-Closed-Before", "0")], b"ab")
    assert inst.request("misc.closing")[1] == [("X-Closed-Before", "1")]


def test_response_over_frame_limit_is_500(zygote):
    inst = zygote.spawn(1)
    status, _, _ = inst.request("misc.huge")
    assert status.startswith("500 ")
    assert "exceeds" in inst.log_text()


def test_sourceless_pyc_and_zip_imports(zygote):
    inst = zygote.spawn(1)
    assert inst.request("imports_extra.app") == ("200 OK", [], b"from-pyc+from-zip")


def test_os_exit_reported(zygote):
    inst = zygote.spawn(5)
    inst.send_request(1, "dies.app")
    no, pid, status = zygote.wait_exited(5)
    assert pid == inst.pid
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 7


def test_shutdown_finishes_running_requests(zygote):
    inst = zygote.spawn(2)
    inst.send_request(9, "misc.slow")
    time.sleep(0.1)
    inst.send_frame(IPC_SHUTDOWN, 0)
    rid, status, _, body = inst.read_response()
    assert (rid, status, body) == (9, "200 OK", b"slow done")
    _, _, st = zygote.wait_exited(2)
    assert os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0


def test_shutdown_waits_for_the_request_the_reading_worker_kept(zygote):
    """A worker that reads several frames at once keeps the first request
    to run itself and handles the frames after it first, here
    IPC_SHUTDOWN and then an IPC_API_CPU whose hook holds the worker
    until the main thread has run the shutdown notice. The kept request
    must count as running by then, or the main thread finds nothing to
    wait for and exits without answering it."""
    inst = zygote.spawn(2)
    assert inst.request("keptapp.setup")[2] == b"set"
    # The single worker reads the channel itself once idle: the burst is
    # all in one read of it.
    inst.chan.sendall(inst.request_frame(2, "keptapp.app") + IPC_HDR.pack(0, IPC_SHUTDOWN, 0, 0) +
                      IPC_HDR.pack(4, IPC_API_CPU, 0, 0xC0FFEE) + struct.pack("<I", 0))
    rid, status, _, body = inst.read_response()
    assert (rid, status, body) == (2, "200 OK", b"ran")
    _, _, st = zygote.wait_exited(2)
    assert os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0


def test_channel_eof_exits_at_once(zygote):
    # A request that would run 30 s does not keep the instance: it exits
    # when its channel ends (the 20 s bound is far from both, for loaded
    # runs).
    inst = zygote.spawn(3)
    inst.send_request(1, "misc.stuck")
    time.sleep(0.1)
    inst.chan.shutdown(socket.SHUT_RDWR)
    _, _, st = zygote.wait_exited(3, timeout=20)
    assert os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0


@pytest.mark.parametrize("frame", [
    IPC_HDR.pack(0, 99, 0, 0),                        # unknown type
    IPC_HDR.pack(IPC_MAX_PAYLOAD + 1, IPC_REQUEST, 0, 1),  # oversized
    IPC_HDR.pack(8, IPC_REQUEST, 0, 1) + struct.pack("<II", 100, 0),  # truncated script
    IPC_HDR.pack(4, IPC_SHUTDOWN, 0, 0) + b"abcd",    # shutdown with payload
    # a background thread's environ that does not parse
    IPC_HDR.pack(8, IPC_BACKGROUND_STARTED, 0, 0x80000001) + struct.pack("<II", 0, 9),
])
def test_protocol_violation_exits_3(zygote, frame):
    inst = zygote.spawn(4)
    inst.chan.sendall(frame)
    _, _, st = zygote.wait_exited(4)
    assert os.WIFEXITED(st) and os.WEXITSTATUS(st) == 3
    assert "protocol violation" in zygote.stderr()


def test_background_thread_gets_the_environ_the_master_sends(zygote):
    inst = zygote.spawn(5)
    inst.send_request(1, "misc.background_environ")
    type_, id_, payload = inst.read_frame()
    assert (type_, id_, payload) == (IPC_BACKGROUND_START, 0x80000001, b"")
    inst.send_frame(IPC_BACKGROUND_STARTED, id_, inst.environ_payload(
        "", {"REQUEST_LOG_ID": "0123abcd", "PATH_INFO": "/_ah/background"}))
    type_, id_, payload = inst.read_frame()
    # Not failed; the CPU ns it was given, in us: past a u32's 71.6 minutes.
    assert (type_, id_, payload) == (IPC_BACKGROUND_END, 0x80000001,
                                     struct.pack("<IQ", 0, 5000000007))
    rid, status, _, body = inst.read_response()
    assert (rid, status, body) == (1, "200 OK", b"dict 0123abcd /_ah/background")
    # One no thread waits for (the app wrote the start itself) is dropped.
    inst.send_frame(IPC_BACKGROUND_STARTED, 0x80000002, inst.environ_payload("", {}))
    assert inst.request("hello.app") == ("200 OK", [("Content-Type", "text/plain")],
                                         b"Hello, world!")


def test_background_cpu_saturates_where_the_master_stops_taking_it(zygote):
    # IPC_MAX_CPU_US (ipc.h): the most the master takes; more would make it
    # kill the instance.
    inst = zygote.spawn(6)
    inst.send_request(1, "misc.background_cpu_cap")
    type_, id_, payload = inst.read_frame()
    assert (type_, id_, payload) == (IPC_BACKGROUND_START, 0x80000003, b"")
    inst.send_frame(IPC_BACKGROUND_STARTED, id_, inst.environ_payload("", {}))
    type_, id_, payload = inst.read_frame()
    assert (type_, id_, payload) == (IPC_BACKGROUND_END, 0x80000003, struct.pack("<IQ", 1, 1 << 52))
    assert inst.read_response() == (1, "200 OK", [], b"ended")


def test_zygote_eof_kills_instances(app_dir):
    z = Zygote(app_dir)
    try:
        inst = z.spawn(1)
        z.sock.close()
        assert z.proc.wait(timeout=TIMEOUT) == 0
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            # Reaped between two looks, /proc/PID reads as ENOENT or ESRCH.
            try:
                with open("/proc/%d/stat" % inst.pid) as f:
                    if f.read().split()[2] == "Z":
                        break
            except (FileNotFoundError, ProcessLookupError):
                break
            time.sleep(0.01)
        else:
            pytest.fail("instance survived its zygote")
    finally:
        z.sock = socket.socket()  # already closed; stop() closes this dummy
        _check_no_sanitizer_reports(z.stop())


def test_master_gone_with_messages_unread_exits_quietly(app_dir):
    """The master may close its end before reading what the zygote sent
    (its start failed: test_cli.py's test_failed_start_says_only_why; or a
    spare report came after the master's last read): the zygote's recvmsg
    then fails with ECONNRESET instead of reading EOF. Either way the master
    is gone, and the zygote exits 0 without a word."""
    z = Zygote(app_dir)
    try:
        # The report of its first spare, unread in our end's queue.
        deadline = time.monotonic() + TIMEOUT
        while not select.select([z.sock], [], [], 0.05)[0]:
            assert time.monotonic() < deadline, "no message from the zygote:\n" + z.stderr()
        z.sock.close()
        assert z.proc.wait(timeout=TIMEOUT) == 0, z.stderr()
        assert "gaelic zygote" not in z.stderr(), z.stderr()
    finally:
        z.sock = socket.socket()  # already closed; stop() closes this dummy
        _check_no_sanitizer_reports(z.stop())


def test_instance_whose_master_left_its_frames_unread_exits_quietly(zygote):
    """The same for an instance: its READY still unread, the master's end
    closes; the instance's read gets ECONNRESET, not EOF, and it exits 0
    without a word, as it does on EOF."""
    inst = zygote.spawn(4, ready=False)
    deadline = time.monotonic() + TIMEOUT
    while not select.select([inst.chan], [], [], 0.05)[0]:
        assert time.monotonic() < deadline, "no READY from the instance:\n" + zygote.stderr()
    inst.chan.close()
    _, _, st = zygote.wait_exited(4)
    assert os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0, st
    assert "channel read failed" not in zygote.stderr(), zygote.stderr()


def _spares(pid):
    """The zygote's children that are spares (it also forks the app's
    bytecode writer)."""
    return {child for child in children(pid) if comm(child) == "gaelic-spare"}


def test_dead_spare_is_replaced(zygote):
    first = zygote.spawn(1)
    deadline = time.monotonic() + TIMEOUT
    while not (_spares(zygote.proc.pid) - {first.pid}):
        assert time.monotonic() < deadline, "no spare instance forked"
        time.sleep(0.01)
    (spare,) = _spares(zygote.proc.pid) - {first.pid}
    os.kill(spare, signal.SIGKILL)
    # Once the zygote has reaped it (before that, a hand-off can race with
    # the kill: the master then sees ZY_SPAWNED followed by ZY_EXITED).
    while "spare instance %d died" % spare not in zygote.stderr():
        assert time.monotonic() < deadline, zygote.stderr()
        time.sleep(0.01)
    inst = zygote.spawn(2)
    assert inst.pid != spare
    assert inst.request("hello.app")[0] == "200 OK"
    # The master heard of each spare: so it can place them in their cgroups
    # while they wait, and remove those of the one that died.
    forked = [pid for what, pid, _ in zygote.spare_reports if what == "forked"]
    assert {first.pid, spare, inst.pid} <= set(forked), zygote.spare_reports
    assert ("dropped", spare, signal.SIGKILL) in zygote.spare_reports, zygote.spare_reports


def test_large_bodies_on_a_nonblocking_channel(zygote):
    # The master's end may be non-blocking; socketpair shares nothing but
    # the instance must still read and write whole frames.
    inst = zygote.spawn(1, nonblocking=True)
    body = os.urandom(5 << 20)
    status, headers, out = inst.request("misc.echo", {"REQUEST_METHOD": "POST"}, body=body)
    assert (status, headers) == ("200 OK", [("X-Length", str(len(body)))])
    assert out == body[::-1]


def test_instances_are_distinct_processes(zygote):
    a, b = zygote.spawn(1), zygote.spawn(2)
    pa = a.request("misc.pid")[2]
    pb = b.request("misc.pid")[2]
    assert int(pa) == a.pid and int(pb) == b.pid and pa != pb


def _smaps_rollup(pid):
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def test_fork_to_ready_time_and_memory(zygote8):
    times = []
    instances = []
    for no in range(1, 6):
        t0 = time.monotonic()
        instances.append(zygote8.spawn(no))
        times.append((time.monotonic() - t0) * 1000)
    for inst in instances:
        inst.request("hello.app")
    time.sleep(0.2)
    rollup = _smaps_rollup(instances[-1].pid)
    pss_mb = rollup["Pss"] / 1024
    uss_mb = (rollup["Private_Clean"] + rollup["Private_Dirty"]) / 1024
    print("\nfork-to-READY ms: %s; idle instance (8 threads, after one request): "
          "PSS %.1f MB, private %.1f MB, RSS %.1f MB"
          % (", ".join("%.1f" % t for t in times), pss_mb, uss_mb, rollup["Rss"] / 1024))
    if "asan" not in BIN:
        assert min(times) < 50
        assert pss_mb < 10
