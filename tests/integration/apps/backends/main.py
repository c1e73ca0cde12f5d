"""App for test_backends.py: reports who served a request and what its
start requests saw."""
import faulthandler
import json
import logging
import os
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from google.appengine.api import apiproxy_stub_map, background_thread, backends, quota, runtime
from google.appengine.api.logservice import logservice
from google.appengine.api.backends import backends as _backends_module
from google.appengine.runtime import apiproxy_errors

import version

STARTS = []
_POOL = ThreadPoolExecutor(2)
HOG = []


def _answer(start_response, data, status="200 OK"):
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps(data).encode()]


def _start_interrupted(set_hook, hook, tag):
    """Starts a background thread with hook set (sys.settrace or
    sys.setprofile) to raise into the start; the exception's name or None."""
    set_hook(hook)
    try:
        background_thread.start_new_background_thread(_bg_after_landing, [tag])
        return None
    except BaseException as e:
        return type(e).__name__
    finally:
        set_hook(None)


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/_ah/start":
        STARTS.append({"backend": os.environ.get("BACKEND_ID"),
                       "instance": os.environ.get("INSTANCE_ID"),
                       "method": environ["REQUEST_METHOD"]})
        return _answer(start_response, {"started": True})
    if path == "/addr":
        found = {"backend": backends.get_backend(), "instance": backends.get_instance(),
                 "url": backends.get_url("memdb", 1),
                 # Past backends.yaml's 2, within the paid tier's 200: `backends
                 # configure` may add it while this instance runs.
                 "configurable": backends.get_hostname("memdb", 199),
                 "https": backends.get_url("crawler", protocol="https"),
                 "hostname": backends.get_hostname("crawler"),
                 "leak": "GAELIC_BACKENDS" in os.environ,
                 # The SDK's package layout: its module, and all its errors.
                 "module": _backends_module.get_url is backends.get_url and
                 issubclass(backends.DefaultHostnameError, backends.Error)}
        for name, args in (("bad_backend", ("nosuch",)), ("bad_instance", ("memdb", 200)),
                           ("negative", ("memdb", -1)), ("not_a_number", ("memdb", "x"))):
            try:
                backends.get_hostname(*args)
                found[name] = None
            except backends.Error as e:
                found[name] = type(e).__name__
        try:
            found["own"] = backends.get_url()
        except backends.InvalidBackendError as e:
            found["own"] = type(e).__name__
        return _answer(start_response, found)
    if path in ("/hog", "/hog_then_wait"):
        # Touch the memory for real: RSS, not just address space.
        HOG.append(bytearray(int(environ["QUERY_STRING"]) << 20))
        for block in HOG:
            for i in range(0, len(block), 4096):
                block[i] = 1
        if path == "/hog_then_wait":
            time.sleep(1.5)  # the master's memory check runs meanwhile
        return _answer(start_response, {"held_mb": sum(len(b) for b in HOG) >> 20})
    return _answer(start_response, {
        "backend": os.environ.get("BACKEND_ID"),
        "instance": os.environ.get("INSTANCE_ID"),
        "pid": os.getpid(),
        "starts": STARTS,
        "host": environ.get("HTTP_HOST"),
        "version": version.VERSION,
        "current_version_id": environ.get("CURRENT_VERSION_ID"),
    })


def flaky_start(environ, start_response):
    # The test holds starts with one file in the app folder (for at most
    # 60 s) and makes them fail with another.
    here = os.path.dirname(__file__)
    deadline = time.time() + 60
    if os.path.exists(os.path.join(here, "hold-start")):
        logging.warning("flaky start request held")
    while os.path.exists(os.path.join(here, "hold-start")) and time.time() < deadline:
        # A shutdown meanwhile (BK4) ends the hold.
        if runtime.is_shutting_down():
            logging.warning("flaky start request saw the shutdown")
            break
        time.sleep(0.05)
    if os.path.exists(os.path.join(here, "fail-start")):
        return _answer(start_response, {"started": False}, "500 Internal Server Error")
    STARTS.append({"backend": "flaky", "instance": os.environ.get("INSTANCE_ID")})
    return _answer(start_response, {"started": True})


def slow_start(environ, start_response):
    time.sleep(1.5)
    STARTS.append({"backend": "slow", "at": time.time()})
    return _answer(start_response, {"started": True}, "404 Not Found")


def _hook_ran(where):
    logging.warning("shutdown hook ran in %s, is_shutting_down=%s, backend=%s", where,
                    runtime.is_shutting_down(), os.environ.get("BACKEND_ID"))


HOOKS_BEGUN = set()  # the name= of each /hooks/... request that has begun


def hooks(environ, start_response):
    """/hooks/...: the shutdown hook and is_shutting_down (BK4, API3).
    With name=NAME, /hooks/begun?name=NAME then says the request has begun."""
    path = environ["PATH_INFO"]
    query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    if path == "/hooks/begun":
        return _answer(start_response, {"begun": query.get("name") in HOOKS_BEGUN})
    # /hooks/cancel says it has begun once its hook is set and its first
    # call answered: a stop before that would cancel that call. /hooks/wait
    # and /hooks/starts say so inside the try that catches the hook's
    # exception: before it, the exception would fail the request.
    if "name" in query and path not in ("/hooks/cancel", "/hooks/wait", "/hooks/starts"):
        HOOKS_BEGUN.add(query["name"])
    if path == "/hooks/api":
        first = runtime.set_shutdown_hook(lambda: None)
        second = runtime.set_shutdown_hook(None)
        try:
            runtime.set_shutdown_hook(42)
            refused = None
        except TypeError as e:
            refused = str(e)
        return _answer(start_response, {"first": repr(first), "second": callable(second),
                                        "refused": refused,
                                        "shutting_down": runtime.is_shutting_down()})
    if path == "/hooks/env":
        # What the internal /_ah/stop request's os.environ holds of the
        # variables that describe one request's connection.
        def env_hook():
            seen = {k: os.environ.get(k) for k in ("REQUEST_LOG_ID", "REQUEST_ID_HASH",
                                                   "REMOTE_ADDR", "REMOTE_PORT", "HTTPS",
                                                   "SERVER_PROTOCOL", "PATH_INFO")}
            logging.warning("shutdown hook environ: %s", json.dumps(seen, sort_keys=True))
        runtime.set_shutdown_hook(env_hook)
        return _answer(start_response, {"pid": os.getpid()})
    if path == "/hooks/env_changed":
        # The request changes its os.environ: the /_ah/stop request after
        # it must not see what it added, changed or removed.
        def changed_hook():
            seen = {k: os.environ.get(k) for k in ("GAELIC_SET_BY_REQUEST", "CURRENT_VERSION_ID",
                                                   "DEFAULT_VERSION_HOSTNAME")}
            logging.warning("shutdown hook environ: %s", json.dumps(seen, sort_keys=True))
        runtime.set_shutdown_hook(changed_hook)
        before = {k: os.environ.get(k) for k in ("CURRENT_VERSION_ID", "DEFAULT_VERSION_HOSTNAME")}
        os.environ["GAELIC_SET_BY_REQUEST"] = "set"
        os.environ["CURRENT_VERSION_ID"] = "changed"
        del os.environ["DEFAULT_VERSION_HOSTNAME"]
        return _answer(start_response, {"pid": os.getpid(), "before": before})
    if path == "/hooks/log":
        runtime.set_shutdown_hook(lambda: _hook_ran(os.environ.get("PATH_INFO")))
        return _answer(start_response, {"pid": os.getpid()})
    if path == "/hooks/slow":
        # A hook that takes a few seconds before it says it ran.
        def slow_hook():
            time.sleep(5)
            _hook_ran(os.environ.get("PATH_INFO"))
        runtime.set_shutdown_hook(slow_hook)
        return _answer(start_response, {"pid": os.getpid()})
    if path == "/hooks/held":
        # A hook that runs while the app folder holds "hold-stop" (for at
        # most 60 s): its instance stays in its shutdown meanwhile.
        def held_hook():
            here = os.path.dirname(__file__)
            deadline = time.time() + 60
            while os.path.exists(os.path.join(here, "hold-stop")) and time.time() < deadline:
                time.sleep(0.05)
            _hook_ran(os.environ.get("PATH_INFO"))
        runtime.set_shutdown_hook(held_hook)
        return _answer(start_response, {"pid": os.getpid()})
    if path == "/hooks/thread":
        # A hook that hands its work to a thread (RT11: joined before the
        # request the hook runs in, /_ah/stop included, ends).
        def threaded_hook():
            def work():
                time.sleep(1)
                _hook_ran(os.environ.get("PATH_INFO") + " (its thread)")
            threading.Thread(target=work).start()
        runtime.set_shutdown_hook(threaded_hook)
        return _answer(start_response, {"pid": os.getpid()})
    if path == "/hooks/raise":
        def hook():
            _hook_ran(os.environ.get("PATH_INFO"))
            raise KeyboardInterrupt("shutting down")
        runtime.set_shutdown_hook(hook)
        return _answer(start_response, {"pid": os.getpid()})
    if path == "/hooks/wait":
        # Runs until interrupted, or for 20 s; what reached it goes back.
        deadline = time.time() + 20
        threads_seen = []

        def child():
            try:
                while time.time() < deadline:
                    time.sleep(0.05)
            except BaseException as e:
                threads_seen.append(type(e).__name__)
        # ?pool=1: the child is a task of a module-level thread pool.
        if "pool=1" in environ.get("QUERY_STRING", ""):
            t = _POOL.submit(child)
            t.join = t.exception
        else:
            t = threading.Thread(target=child)
            t.start()
        try:
            if "name" in query:
                HOOKS_BEGUN.add(query["name"])
            while time.time() < deadline:
                time.sleep(0.05)
            outcome = "finished"
        except BaseException as e:
            outcome = type(e).__name__
        t.join()
        return _answer(start_response, {"outcome": outcome, "child": threads_seen,
                                        "shutting_down": runtime.is_shutting_down()})
    if path == "/hooks/starts":
        # Starts and joins threads that do nothing, one after another, until
        # interrupted (for 20 s at most): the hook must run in this thread,
        # not in one it has just started, which carries its id until it runs.
        deadline = time.time() + 20
        try:
            if "name" in query:
                HOOKS_BEGUN.add(query["name"])
            while time.time() < deadline:
                t = threading.Thread(target=int)
                t.start()
                t.join()
            outcome = "finished"
        except BaseException as e:
            outcome = type(e).__name__
        return _answer(start_response, {"outcome": outcome})
    if path == "/hooks/cancel":
        # The hook cancels API calls; the request's next call fails.
        cancelled = []

        def hook():
            apiproxy_stub_map.apiproxy.CancelApiCalls()
            cancelled.append(True)
        runtime.set_shutdown_hook(hook)
        before = runtime.memory_usage().current > 0
        if "name" in query:
            HOOKS_BEGUN.add(query["name"])
        deadline = time.time() + 20
        # is_shutting_down() turns true a moment before the hook has run.
        while time.time() < deadline and not cancelled:
            time.sleep(0.05)
        try:
            runtime.cpu_usage()
            after = "call worked"
        except apiproxy_errors.CancelledError as e:
            after = "CancelledError: %s" % e
        return _answer(start_response, {"before": before, "after": after})
    if path == "/hooks/sleep":
        # One long sleep: the hook still runs inside it.
        started = time.time()
        try:
            time.sleep(20)
            outcome = "finished"
        except BaseException as e:
            outcome = type(e).__name__
        return _answer(start_response, {"outcome": outcome,
                                        "slept": round(time.time() - started, 1)})
    if path == "/hooks/stubborn":
        # Ignores everything: only the kill at the end of the grace ends it.
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                time.sleep(0.05)
            except BaseException:
                pass
        return _answer(start_response, {"outcome": "finished"})
    return _answer(start_response, {"unknown": path}, "404 Not Found")


BG = {"done": [], "seen_env": [], "shutdown": []}


def _bg_work(name, seconds, until_shutdown):
    logging.info("background %s working", name)
    BG["seen_env"].append(os.environ.get("CREATOR"))
    os.environ["CREATOR"] = "changed by " + name  # its own copy
    deadline = time.time() + seconds
    try:
        while time.time() < deadline:
            if until_shutdown and runtime.is_shutting_down():
                logging.warning("background %s saw the shutdown", name)
                BG["shutdown"].append(name)
                return
            time.sleep(0.05)
    except BaseException as e:
        logging.warning("background %s interrupted by %s", name, type(e).__name__)
        raise
    BG["done"].append(name)
    logging.info("background %s done", name)


ENV_SEEN = {}
_release = threading.Event()


def _bg_fail(name):
    logging.info("fail %s", name)
    raise ValueError("background %s fails" % name)


def _bg_crash(name):
    logging.info("crash %s", name)
    faulthandler._sigsegv()


class _FailingThread(background_thread.BackgroundThread):
    """The other way to give a thread its work: its own run()."""

    def __init__(self, name):
        super().__init__()
        self.tag = name

    def run(self):
        _bg_fail(self.tag)


def _bg_burn(name, cpu_seconds):
    """Busy until this thread has used cpu_seconds of CPU (at most 30 s of
    wall time), then logs the megacycles quota counts for it."""
    stop = time.monotonic() + 30
    while time.thread_time() < cpu_seconds and time.monotonic() < stop:
        pass
    logging.info("burn %s %d", name, quota.get_request_cpu_usage())


def _bg_child_cpu(name, cpu_seconds):
    """Burns like _bg_burn, then logs what quota says in this thread and
    then in a thread it starts (which counts for the same request)."""
    stop = time.monotonic() + 30
    while time.thread_time() < cpu_seconds and time.monotonic() < stop:
        pass
    mine = quota.get_request_cpu_usage()
    seen = []
    child = threading.Thread(target=lambda: seen.append(quota.get_request_cpu_usage()))
    child.start()
    child.join()
    logging.info("child_cpu %s %d %d", name, mine, seen[0])


def _bg_env():
    """Says what os.environ it has, then, once its creator has ended, finds
    its own request log through logservice (an API call of its own)."""
    me = {k: os.environ.get(k) for k in ("REQUEST_LOG_ID", "PATH_INFO", "REQUEST_METHOD",
                                         "QUERY_STRING", "BACKEND_ID", "INSTANCE_ID",
                                         "HTTP_X_APPENGINE_API_TICKET")}
    ENV_SEEN["thread"] = me
    logging.info("background env thread")
    if not _release.wait(30):
        return
    try:
        logs = list(logservice.fetch(request_ids=[me["REQUEST_LOG_ID"]],
                                     include_incomplete=True))
        ENV_SEEN["fetched"] = [(r.request_id, r.resource) for r in logs]
    except Exception as e:
        ENV_SEEN["fetched"] = repr(e)


class _Landed(Exception):
    """Stands for the shutdown hook's exception, which the runtime raises in
    every request thread wherever it happens to be."""


def _land_in_the_wait_for_the_thread(frame, event, arg):
    """A trace function: raises _Landed as Thread.start begins to wait for
    its new thread (threading.Event.wait), where an exception raised in
    the request's thread from outside can land too."""
    if (event == "call" and frame.f_code is threading.Event.wait.__code__):
        sys.settrace(None)
        raise _Landed()


def _land_as_the_master_answers(frame, event, arg):
    """A profile function: raises _Landed as the call that waits for the
    master's answer to a thread's start returns, where an exception raised
    in the request's thread from outside during that wait lands too."""
    import _gaelic
    if event == "c_return" and arg is _gaelic.background_started:
        sys.setprofile(None)
        raise _Landed()


def _bg_after_landing(name):
    time.sleep(0.3)
    logging.info("landed %s done", name)


def bg(environ, start_response):
    """/bg/...: background threads (BG1-BG3)."""
    path = environ["PATH_INFO"]
    query = dict(p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
    if path == "/bg/start":
        os.environ["CREATOR"] = query.get("tag", "request")
        if "pose_as" in query:  # a frontend that claims to be a backend
            os.environ["BACKEND_ID"] = query["pose_as"]
        started, error = [], None
        for i in range(int(query.get("n", "1"))):
            name = "%s-%d" % (query.get("tag", "t"), i)
            try:
                if query.get("api") == "class":
                    t = background_thread.BackgroundThread(
                        target=_bg_work, args=(name, float(query.get("secs", "1")),
                                               query.get("until") == "shutdown"))
                    t.start()
                    started.append(t.ident)
                else:
                    started.append(background_thread.start_new_background_thread(
                        _bg_work, [name, float(query.get("secs", "1")),
                                   query.get("until") == "shutdown"]))
            except background_thread.Error as e:
                error = type(e).__name__
                break
        return _answer(start_response, {"started": len(started), "error": error,
                                        "ids_are_ints": all(isinstance(i, int) for i in started),
                                        "env_after": os.environ.get("CREATOR")})
    if path == "/bg/twice":
        # threading's own errors, before any background request is made.
        t = background_thread.BackgroundThread(target=_bg_work, args=("twice", 0, False))
        t.start()
        t.join()
        out = {}
        try:
            t.start()
        except RuntimeError as e:
            out["again"] = str(e)

        class NoInit(background_thread.BackgroundThread):
            def __init__(self):
                pass
        try:
            NoInit().start()
        except RuntimeError as e:
            out["no_init"] = str(e)
        return _answer(start_response, out)
    if path == "/bg/churn":
        # Threads of the request start short background threads as fast as
        # slots free up, with thread switches as often as CPython allows: a
        # start right after an end must not reach the master before it.
        counts = {"started": 0, "limited": 0}
        lock = threading.Lock()
        stop = time.monotonic() + float(query.get("secs", "5"))
        n = int(query.get("n", "3000"))

        def starter():
            while time.monotonic() < stop:
                with lock:
                    if counts["started"] >= n:
                        return
                try:
                    background_thread.start_new_background_thread(time.sleep, (0.001,))
                    key = "started"
                except background_thread.BackgroundThreadLimitReachedError:
                    key = "limited"
                with lock:
                    counts[key] += 1

        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        try:
            starters = [threading.Thread(target=starter)
                        for _ in range(int(query.get("starters", "4")))]
            for t in starters:
                t.start()
            for t in starters:
                t.join()
        finally:
            sys.setswitchinterval(interval)
        return _answer(start_response, counts)
    if path == "/bg/interrupted":
        # An exception lands in the starter once the thread runs.
        raised = _start_interrupted(sys.settrace, _land_in_the_wait_for_the_thread, query["tag"])
        return _answer(start_response, {"raised": raised, "pid": os.getpid()})
    if path == "/bg/interrupted_start":
        # An exception lands as the master's answer to the start arrives;
        # then every slot is taken.
        raised = _start_interrupted(sys.setprofile, _land_as_the_master_answers, query["tag"])
        started = 0
        try:
            for _ in range(10):  # BG2: all the instance may run
                background_thread.start_new_background_thread(time.sleep, (0.2,))
                started += 1
        except background_thread.Error as e:
            raised += " then " + type(e).__name__
        return _answer(start_response, {"raised": raised, "started": started,
                                        "pid": os.getpid()})
    if path == "/bg/env":
        ENV_SEEN.clear()
        _release.clear()
        background_thread.start_new_background_thread(_bg_env, [])
        return _answer(start_response, {k: os.environ.get(k) for k in (
            "REQUEST_LOG_ID", "HTTP_X_APPENGINE_API_TICKET")})
    if path == "/bg/fail":
        if query["how"] == "subclass":
            _FailingThread(query["tag"]).start()
        else:
            background_thread.start_new_background_thread(_bg_fail, [query["tag"]])
        return _answer(start_response, {})
    if path == "/bg/crash":
        # The instance dies under its background thread (SIGSEGV).
        background_thread.start_new_background_thread(_bg_crash, [query["tag"]])
        return _answer(start_response, {})
    if path in ("/bg/burn", "/bg/child_cpu"):
        background_thread.start_new_background_thread(
            _bg_burn if path == "/bg/burn" else _bg_child_cpu,
            [query["tag"], float(query.get("secs", "0.2"))])
        return _answer(start_response, {})
    if path == "/bg/env_release":
        _release.set()
        return _answer(start_response, {})
    if path == "/bg/env_seen":
        return _answer(start_response, ENV_SEEN)
    if path == "/bg/status":
        return _answer(start_response, BG)
    return _answer(start_response, {"unknown": path}, "404 Not Found")
