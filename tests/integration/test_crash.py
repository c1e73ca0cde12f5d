"""A crashing instance affects only its own requests: they get 500, the
instance is replaced, the master keeps serving."""
import os
import signal
import threading
import time

import pytest
import requests

from harness import app_path, children, copy_app, http_request, newest_entry, write_app


@pytest.fixture
def srv(serve):
    return serve(app_path("crash"))


def ok(s):
    r = s.get("/ok")
    assert r.status_code == 200, (r.status_code, r.content[:300], s.stderr_text()[-3000:])
    return r.json()


@pytest.mark.parametrize("how", ["segv", "exit"])
def test_crash_gives_500_and_new_instance(srv, how):
    """The request the crash takes along gets its 500, and its own log says
    what became of it (the console is not where an app's developer looks)."""
    before = ok(srv)
    r = srv.get("/" + how)
    assert r.status_code == 500, (r.status_code, r.content[:300])
    assert srv.alive(), "the master died"
    after = ok(srv)
    assert after["instance_id"] != before["instance_id"]
    assert after["pid"] != before["pid"]
    # ... and how the instance ended, once the zygote tells (an ASan
    # build's SEGV handler aborts: another signal).
    ended = "was killed by signal " if how == "segv" else "exited with status 1"
    out = srv.wait_logs(ended)
    entry = newest_entry(out, "/" + how)
    assert entry and '" 500 ' in entry and "\t4:" in entry, out[:3000]
    assert "the instance serving this request was lost: the instance " in entry, out[:3000]
    assert ended in entry, out[:3000]


@pytest.mark.parametrize("import_signal", [False, True])
def test_interrupt_main_does_nothing_in_an_instance(srv, import_signal):
    """_thread.interrupt_main() simulates a SIGINT, which an instance does
    not handle: as CPython documents for that case, it does nothing. Before,
    the instance died of a segfault (CPython 3.11 read the SIGINT handler
    of a signal module no code had imported yet), or, once the app had
    imported signal, the runtime's own main thread got KeyboardInterrupt
    the next time it ran Python (starting the workers, or the shutdown
    hook as the instance stopped)."""
    before = ok(srv)
    r = srv.get("/interrupt_main" + ("?import_signal=1" if import_signal else ""))
    assert r.status_code == 200, (r.status_code, r.content[:300], srv.stderr_text()[-3000:])
    assert r.json()["pid"] == before["pid"]
    assert ok(srv)["pid"] == before["pid"]
    assert srv.stop() == 0
    err = srv.stderr_text()
    assert "Segmentation fault" not in err and "KeyboardInterrupt" not in err, err[-3000:]


def test_instance_killed_from_outside_is_replaced(srv):
    before = ok(srv)
    os.kill(before["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and before["pid"] in srv.children():
        time.sleep(0.05)
    after = ok(srv)
    assert after["instance_id"] != before["instance_id"]
    assert srv.alive()


def parent_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def kill_zygote(srv, zygote):
    """SIGKILLs the zygote; returns the pid of the one the server starts
    instead (bounded wait)."""
    os.kill(zygote, signal.SIGKILL)
    assert srv.wait_stderr("zygote (pid %d) was killed by signal 9" % zygote), \
        srv.stderr_text()[-3000:]
    deadline = time.monotonic() + 20
    while not children(srv.pid) - {zygote}:
        assert time.monotonic() < deadline, \
            "no new zygote after the last one died\n" + srv.stderr_text()[-3000:]
        time.sleep(0.05)
    return (children(srv.pid) - {zygote}).pop()


def test_zygote_that_keeps_dying_is_started_again(srv):
    """A dead zygote is replaced at once; one that keeps dying (killed
    here five times in a row, before any instance came of it) is started
    again after a pause rather than given up until the server restarts."""
    zygote = parent_of(ok(srv)["pid"])
    for _ in range(5):
        zygote = kill_zygote(srv, zygote)
    # Requests get 500 while the zygote is away (bounded wait).
    deadline = time.monotonic() + 20
    while srv.get("/ok").status_code != 200:
        assert time.monotonic() < deadline, srv.stderr_text()[-3000:]
        time.sleep(0.1)
    assert srv.alive()


APP_YAML = """application: crashbk
version: 1
runtime: python27
api_version: 1
threadsafe: true
handlers:
- url: /.*
  script: main.app
"""


# pool.c's ZYGOTE_HEALTHY_MS: a zygote that lived this long had come up.
ZYGOTE_HEALTHY_S = 3


def test_zygote_lost_now_and_then_is_not_taken_for_one_that_keeps_failing(srv):
    """An idle server's zygote makes no instance. Lost (killed here) again
    and again, each time after it had come up and served a while, it is
    started again at once every time: no pause answering 500, as for a
    zygote that dies as it starts."""
    zygote = parent_of(ok(srv)["pid"])
    for _ in range(4):  # one more than pool.c's MAX_START_FAILURES
        time.sleep(ZYGOTE_HEALTHY_S + 0.5)  # it comes up and serves a while
        zygote = kill_zygote(srv, zygote)
    assert "keeps failing" not in srv.stderr_text(), srv.stderr_text()[-3000:]
    ok(srv)


def test_zygote_lost_while_instances_start_leaves_their_requests_waiting(serve, tmp_path):
    """Instances the zygote had yet to fork (it is stopped here, then
    killed) go with it, but they did not fail to start: the requests
    waiting for them wait on for the new zygote's instances instead of
    being failed as if instances could not start. A dynamic backend starts
    an instance for each request that names one, so three are pending."""
    d = write_app(tmp_path / "app", APP_YAML, {
        "backends.yaml": ("backends:\n- name: crawler\n  instances: 3\n"
                          "  max_concurrent_requests: 3\n  options: dynamic, public\n"),
        "main.py": ("import os\n\n\ndef app(environ, start_response):\n"
                    "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                    "    return [os.environ['INSTANCE_ID'].encode()]\n"),
    })
    s = serve(d)

    def threads_arg(pid):
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            args = f.read().split(b"\0")
        return args[args.index(b"--threads") + 1]
    # The backend's zygote is the one started with its 3 threads (the
    # default version's has 8).
    deadline = time.monotonic() + 15
    while not [k for k in children(s.pid) if threads_arg(k) == b"3"]:
        assert time.monotonic() < deadline, s.stderr_text()[-3000:]
        time.sleep(0.05)
    zygote = [k for k in children(s.pid) if threads_arg(k) == b"3"][0]
    os.kill(zygote, signal.SIGSTOP)
    results = {}

    def get(i):
        try:
            results[i] = requests.get(s.url, timeout=60, headers={
                "Host": "%d.crawler.localhost:%d" % (i, s.port)})
        except Exception as e:
            results[i] = e
    threads = [threading.Thread(target=get, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for i in range(3):
        assert s.wait_stderr("backend crawler instance %d starting" % i), s.stderr_text()[-3000:]
    os.kill(zygote, signal.SIGKILL)
    for t in threads:
        t.join(70)
    got = {i: (getattr(r, "status_code", r), getattr(r, "text", "")) for i, r in results.items()}
    assert got == {i: (200, str(i)) for i in range(3)}, (got, s.stderr_text()[-3000:])


def test_zygote_that_cannot_start_answers_what_waits_500(serve, tmp_path):
    """A zygote that dies as it starts (here it finds no runtime to load)
    is started again after a pause once it has failed a few times in a
    row; requests get 500 meanwhile, those already waiting for it too,
    rather than waiting for the 503 of --max_pending_latency."""
    empty = tmp_path / "no-runtime"
    empty.mkdir()
    s = serve(app_path("crash"), env=dict(os.environ, GAELIC_PYTHON_DIR=str(empty)))
    r = s.get("/ok", timeout=60)
    assert r.status_code == 500, (r.status_code, s.stderr_text()[-3000:])
    assert s.wait_stderr("zygote keeps failing"), s.stderr_text()[-3000:]
    assert s.get("/ok").status_code == 500
    assert s.alive()


def test_stuck_zygote_is_replaced(serve):
    """A zygote that is alive but stuck (stopped here) forks nothing: once
    an instance has waited its whole start time for it, the master kills
    that zygote and starts another, rather than leaving every request to
    wait in vain for as long as it stays stuck."""
    s = serve(app_path("crash"), "--max_instances", "1", "--max_pending_latency", "120")
    first = ok(s)
    zygote = parent_of(first["pid"])
    os.kill(zygote, signal.SIGSTOP)
    try:
        # Its answer comes once the master has lost the instance.
        assert s.get("/segv").status_code == 500
        # The next request needs a new instance, which only a new zygote
        # can give (the start timeout is 30 s).
        r = s.get("/ok", timeout=100)
    finally:
        if zygote in children(s.pid):
            os.kill(zygote, signal.SIGCONT)
    assert r.status_code == 200, (r.status_code, s.stderr_text()[-3000:])
    assert parent_of(r.json()["pid"]) != zygote
    assert "zygote (pid %d) did not fork an instance" % zygote in s.stderr_text()


def test_repeated_crashes(srv):
    for how in ["segv", "exit", "segv", "exit", "segv"]:
        assert srv.get("/" + how).status_code == 500
    assert srv.alive()
    ok(srv)


def test_import_error_500_traceback_logged(srv):
    r = srv.get("/broken")
    assert r.status_code == 500
    assert srv.alive()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and "GAELIC-IMPORT-MARKER-7731" not in srv.stderr_text():
        time.sleep(0.1)
    err = srv.stderr_text()
    assert "GAELIC-IMPORT-MARKER-7731" in err, err[-3000:]
    assert "Traceback" in err and "RuntimeError" in err, err[-3000:]
    assert "broken.py" in err, err[-3000:]
    # the rest of the app still works, and the broken module still fails
    ok(srv)
    assert srv.get("/broken").status_code == 500
    ok(srv)


SEGV_AT_IMPORT = {
    "main.py": ("import os\n\n\ndef app(environ, start_response):\n"
                "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                "    return [b'ok']\n"),
    "crasher.py": "import faulthandler\n\nfaulthandler._sigsegv()\n",
}


def test_segfault_at_import_shows_where_on_the_console(serve, tmp_path):
    """A module that crashes the instance as it is imported (a broken C
    extension, here faulthandler's helper) leaves no Python traceback to
    log: the console says where, file and line, once, from CPython's fault
    handler, which every instance has on. The client sees only the 500."""
    d = write_app(tmp_path / "app", APP_YAML.replace(
        "- url: /.*", "- url: /crash\n  script: crasher.app\n- url: /.*"), SEGV_AT_IMPORT)
    s = serve(d)
    assert s.get("/ok").status_code == 200
    r = s.get("/crash")
    assert r.status_code == 500 and b"Traceback" not in r.content and b"crasher" not in r.content
    # (An ASan build's own SEGV handler ends it with abort: signal 6.)
    assert s.wait_stderr(("killed by signal 11", "killed by signal 6 (Aborted)")), \
        s.stderr_text()[-3000:]
    where = 'crasher.py", line 3'
    assert s.wait_stderr(where), s.stderr_text()[-3000:]
    # Once per report of the fault handler: the segfault's (only the
    # crashing thread's stack), and in an ASan build the abort's after it.
    err = s.stderr_text()
    assert err.count(where) == err.count("Fatal Python error: ") >= 1, err[-3000:]
    assert s.get("/ok").status_code == 200
    assert s.alive()


def test_crash_answers_concurrent_requests_on_that_instance(srv):
    """A threadsafe instance: a slow request sharing the instance with a
    crash gets 500 promptly rather than hanging."""
    first = ok(srv)
    result = []

    def slow():
        t0 = time.monotonic()
        try:
            r = requests.get(srv.url + "sleep?s=30&name=" + name, timeout=60)
            result.append((r.status_code, time.monotonic() - t0, r))
        except Exception as e:
            result.append((e, time.monotonic() - t0, None))
    name = "slow-%d" % time.monotonic_ns()
    t = threading.Thread(target=slow)
    t.start()
    # The slow request runs on the instance before it crashes (asked of
    # that instance: threadsafe; a bounded wait).
    deadline = time.monotonic() + 15
    while not srv.get("/running?name=" + name).json()["running"]:
        assert time.monotonic() < deadline and t.is_alive(), result
        time.sleep(0.05)
    assert srv.get("/segv").status_code == 500
    t.join(60)
    assert result, "slow request did not finish"
    code, took, r = result[0]
    assert code == 500, result
    # Well before its 30 s sleep could have ended (the wait above is
    # bounded at 15 s).
    assert took < 25, "the crashed instance's request was answered after %.1fs" % took
    assert ok(srv)["instance_id"] != first["instance_id"]


def test_crash_leaves_other_instances_alone(serve, tmp_path):
    d = copy_app("crash", tmp_path / "crash1",
                 lambda text: text.replace("threadsafe: true", "threadsafe: false"))
    s = serve(d, "--max_instances", "2")
    result = []

    def slow():
        try:
            result.append(requests.get(s.url + "sleep?s=2", timeout=20))
        except Exception as e:
            result.append(e)
    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.5)  # the slow request occupies instance 1 (one at a time)
    assert s.get("/segv").status_code == 500  # runs on instance 2
    t.join(25)
    assert result and not isinstance(result[0], Exception), result
    assert result[0].status_code == 200, "a request on another instance was hurt by the crash"
    assert s.alive()


def test_app_whose_only_module_fails_keeps_master_up(serve, tmp_path):
    d = copy_app("crash", tmp_path / "allbroken",
                 lambda text: text.replace("script: main.app", "script: broken.app"))
    s = serve(d)
    for _ in range(3):
        r = http_request(s.port, "GET", "/anything", timeout=15)
        assert r.status == 500
    assert s.alive()
    assert "GAELIC-IMPORT-MARKER-7731" in s.stderr_text()


def test_instance_out_of_memory_answers_and_is_replaced(serve):
    """An app that keeps what it allocated up to --instance_memory: the
    request whose MemoryError goes uncaught gets its 500 at once (not when
    its deadline kills the instance, although there is no memory left to
    log the error), and its instance retires, so the next request gets a
    new one instead of an instance that stays out of memory."""
    s = serve(app_path("crash"), "--instance_memory", str(400 << 20), "--deadline", "10")
    if "address space unlimited (sanitizer build)" in s.stderr_text():
        pytest.skip("sanitizer builds leave the address space unlimited")
    first = ok(s)
    r = s.get("/leak")
    assert r.status_code == 500, (r.status_code, r.content[:300])
    after = ok(s)
    err = s.stderr_text()
    assert after["instance_id"] != first["instance_id"], err[-3000:]
    assert "ran past its deadline" not in err, err[-3000:]
    assert "ran out of memory" in err, err[-3000:]
    assert s.alive()


KEEPER_YAML = """runtime: python27
api_version: 1
threadsafe: false
handlers:
- url: /.*
  script: main.app
"""
KEEPER_PY = """_kept = []
def app(environ, start_response):
    _kept.append(bytearray(48 << 20))  # kept across requests: a leak
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"%d" % len(_kept)]
"""


def test_request_that_runs_out_of_memory_says_so_in_its_log(serve, tmp_path):
    """An app that leaks memory across requests: the request whose
    allocation no longer fits gets its 500, and its own request log (where
    an app's developer looks, not the console) says, after the traceback,
    that the instance ran out of memory after serving that many requests
    and is shut down, as App Engine's request log did."""
    d = write_app(tmp_path / "keeper", KEEPER_YAML, {"main.py": KEEPER_PY})
    s = serve(d, "--instance_memory", str(320 << 20), "--max_instances", "1")
    if "address space unlimited (sanitizer build)" in s.stderr_text():
        pytest.skip("sanitizer builds leave the address space unlimited")
    served = 0
    for _ in range(10):  # 48 MB each: 320 MiB is used up well before
        r = s.get("/keep")
        if r.status_code != 200:
            break
        served += 1
        assert r.text == str(served)
    assert r.status_code == 500 and 0 < served < 10, (served, r.status_code)
    line = "ran out of memory (--instance_memory) after serving %d requests in all" % (served + 1)
    out = s.wait_logs(line)
    failed = out.split("\n127.0.0.1")[0]  # the newest request's entry
    assert '"GET /keep HTTP/1.1" 500' in failed, out[:3000]
    assert "MemoryError" in failed and "\t4:" in failed and line in failed, out[:3000]
    assert s.get("/keep").text == "1"  # a new instance
    assert s.alive()


WEBAPP2_KEEPER_PY = """import os
import webapp2
_kept = []
class Keep(webapp2.RequestHandler):
    def get(self):
        _kept.append(bytearray(48 << 20))  # kept across requests: a leak
        self.response.write("%d %s" % (len(_kept), os.environ["INSTANCE_ID"]))
app = webapp2.WSGIApplication([("/keep", Keep)])
"""


def test_memory_error_a_framework_catches_retires_the_instance(serve, tmp_path):
    """webapp2 (like Flask and Django) catches the handler's MemoryError,
    logs it and answers 500 itself, so it never reaches the runtime. The
    instance is out of memory all the same and retires after that request
    (App Engine shut down an instance over its memory limit after the
    request, whatever the app answered), instead of failing every later
    request for as long as it lives."""
    d = write_app(tmp_path / "keeper", KEEPER_YAML, {"main.py": WEBAPP2_KEEPER_PY})
    s = serve(d, "--instance_memory", str(320 << 20), "--max_instances", "1")
    if "address space unlimited (sanitizer build)" in s.stderr_text():
        pytest.skip("sanitizer builds leave the address space unlimited")
    served, instance = 0, None
    for _ in range(10):  # 48 MB each: 320 MiB is used up well before
        r = s.get("/keep")
        if r.status_code != 200:
            break
        served += 1
        count, instance = r.text.split()
        assert count == str(served)
    assert r.status_code == 500 and 0 < served < 10, (served, r.status_code)
    r = s.get("/keep")
    assert r.status_code == 200, s.stderr_text()[-3000:]  # not out of memory again
    count, after = r.text.split()
    assert count == "1" and after != instance, r.text
    line = "ran out of memory (--instance_memory) after serving %d requests in all" % (served + 1)
    assert line in s.wait_logs(line)
    assert s.alive()


def test_failure_that_cannot_be_logged_in_full_is_answered(serve):
    """Out of memory, logging a request's failure can fail in turn (loading
    the traceback module failed with ENOMEM in CI). The request still gets
    its 500 at once, the failure is logged without its traceback, and the
    instance keeps serving."""
    s = serve(app_path("crash"), "--deadline", "10")
    first = ok(s)
    r = s.get("/unloggable")
    assert r.status_code == 500, (r.status_code, r.content[:300])
    err = s.stderr_text()
    assert "ran past its deadline" not in err, err[-3000:]
    assert "ValueError: GAELIC-UNLOGGABLE-4410 (no traceback: ModuleNotFoundError" in err, err[-3000:]
    for _ in range(3):  # its worker thread survived, and so did the others
        assert ok(s)["instance_id"] == first["instance_id"]
    assert s.alive()


CGI_OOM_YAML = """runtime: python27
api_version: 1
threadsafe: false
handlers:
- url: /(.*)
  script: \\1.py
"""
CGI_OK = 'import os\nprint("Content-Type: text/plain")\nprint()\nprint(os.environ["INSTANCE_ID"])\n'


def test_cgi_script_out_of_memory_retires_its_instance(serve, tmp_path):
    """A CGI script's uncaught MemoryError retires its instance as a WSGI
    handler's does: the modules it imported stay behind in the instance."""
    d = write_app(tmp_path / "cgioom", CGI_OOM_YAML, {
        "ok.py": CGI_OK,
        "huge.py": "x = bytearray(1 << 50)\n",
    })
    s = serve(d)
    if "address space unlimited (sanitizer build)" in s.stderr_text():
        # ASan aborts on an allocation this size instead of failing it.
        pytest.skip("sanitizer builds leave the address space unlimited")
    first = s.get("/ok")
    assert first.status_code == 200, first.content
    r = s.get("/huge")
    assert r.status_code == 500, (r.status_code, r.content[:300])
    after = s.get("/ok")
    err = s.stderr_text()
    assert after.status_code == 200 and after.text != first.text, err[-3000:]
    assert "ran out of memory" in err, err[-3000:]


ENOMEM_YAML = """runtime: python27
api_version: 1
threadsafe: false
handlers:
- url: /cgi
  script: enomem_cgi.py
- url: /ok.*
  script: ok.app
- url: /import
  script: enomem_import.app
- url: /call
  script: enomem_call.app
"""
ENOMEM_RAISE = "import errno\nraise OSError(errno.ENOMEM, 'Cannot allocate memory')\n"
ENOMEM_OK = ("import os\n\ndef app(environ, start_response):\n"
             "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
             "    return [os.environ['INSTANCE_ID'].encode()]\n")


@pytest.mark.parametrize("path", ["/call", "/import", "/cgi"])
def test_oserror_enomem_retires_its_instance(serve, tmp_path, path):
    """OSError ENOMEM (what the import system and os calls raise out of
    memory) retires the instance as MemoryError does, wherever the request
    met it: in the handler, importing the handler's module, or in a CGI
    script."""
    d = write_app(tmp_path / "enomem", ENOMEM_YAML, {
        "ok.py": ENOMEM_OK,
        "enomem_import.py": ENOMEM_RAISE,
        "enomem_cgi.py": ENOMEM_RAISE,
        "enomem_call.py": "import errno\n\ndef app(environ, start_response):\n"
                          "    raise OSError(errno.ENOMEM, 'Cannot allocate memory')\n",
    })
    s = serve(d)
    first = s.get("/ok")
    assert first.status_code == 200, first.content
    r = s.get(path)
    assert r.status_code == 500, (r.status_code, r.content[:300])
    after = s.get("/ok")
    err = s.stderr_text()
    assert after.status_code == 200 and after.text != first.text, err[-3000:]
    assert "ran out of memory" in err, err[-3000:]
