"""Requests that run past their deadline, each in its own way.

/ok                 which instance and thread answered (JSON)
/work?ms=N          busy for N ms of wall time, then /ok
/sleep?s=N          time.sleep(N), then /ok
/busy               a Python loop that never ends
/select?s=N         select.select on nothing for N s (default 100)
/regex              a catastrophic regex: C code that never lets go of the GIL
                    (&name=NAME: first logs "regex NAME begun" and flushes it,
                    so the running request shows in the request logs)
/catch              sleeps, catches DeadlineExceededError, answers 200
                    (&say=1: with str() of the exception as the body)
/api                waits for a 100 s API call (gaelic_test Delay), catches
                    DeadlineExceededError, answers 200
/swallow            loops inside `except Exception:`, which must not catch it
/ignore             catches DeadlineExceededError and goes on looping
/signals?then=X     blocks every signal and tries to ignore SIGALRM, then
                    loops (X=busy) or sleeps (X=sleep)
/thread?in=X        starts a thread that never ends, in time.sleep (X=sleep,
                    the default), a Python loop (X=loop), a lock nobody
                    releases (X=lock) or a catastrophic regex (X=regex);
                    returns at once, and the runtime waits for the thread;
                    &catch=1: the handler itself then sleeps, catches
                    DeadlineExceededError and answers 200
/wait?for=X         starts a thread that sleeps for ever, then waits for it:
                    X=join (Thread.join), X=result (Future.result of a task
                    that sleeps, on a pool of its own), X=event (Event.wait
                    for an event the thread would set) or X=queue
                    (Queue.get of what the thread would put); &catch=1:
                    catches DeadlineExceededError there and answers 200
/stopped            the kinds of /thread threads that DeadlineExceededError
                    ended so far on this instance (JSON list)
/pool?do=X          hands work to a module-level ThreadPoolExecutor of one
                    worker: X=env answers the QUERY_STRING and REQUEST_LOG_ID
                    a task sees (JSON, with /ok's fields); X=later submits a
                    task that sleeps 0.3 s and logs "task done", not waiting
                    for it; X=sleep|lock|loop submits a _stuck task of that
                    kind and one queued behind it that notes "pool-queued"
                    in /stopped if it ever runs, then returns;
                    X=handoff submits a task that, stopped at the deadline,
                    hands a follow-up task to the pool which notes
                    "pool-late" in /stopped after 0.5 s if it is let run;
                    X=slowstart holds the pool's worker at the start of its
                    next task until the deadline has been stopped (a
                    profile function widens that moment), then waits past
                    the deadline for a task that sleeps;
                    X=prune: while the handler's thread prunes the
                    request's finished tasks, another of its threads hands
                    a 0.6 s task to a second pool
/late?in=X          starts a thread that sleeps until the deadline's
                    exception ends it, and then starts a "late" thread that
                    would sleep in a Python loop (X=sleep) or wait on a lock
                    nobody releases (X=lock), noting "late-X" in /late_seen
                    if it ever runs
/late_seen          what late threads ran, and the late threads alive (JSON)
/callback?id=N      submits a 0.2 s task to the module-level pool, adds a
                    done-callback that sleeps 0.2 s, notes the QUERY_STRING
                    and REQUEST_LOG_ID it sees as callback N and logs
                    "callback N ran", and returns the handler's own (JSON)
/callback_seen?id=N what callback N noted (JSON, null if it has not run)
/profiled           runs a small function under cProfile (as profiling
                    middleware does), then /ok
/retire?why=TEXT    calls the runtime's _gaelic.retire(TEXT) itself, as any
                    app can, then /ok
/init_pool?role=X   a module-level pool of one worker whose initializer
                    sleeps until stopped: X=first submits a task and waits
                    for it (the deadline stops the initializer, which
                    breaks the pool); X=started answers whether the
                    initializer has begun; X=second submits a task and
                    answers the repr of what its result() raised
/init_late?role=X   a module-level pool of one worker with an initializer
                    and no worker yet: X=submit starts a thread that sleeps
                    until the deadline's exception, then submits a task
                    there and re-raises; X=use waits for the pool's workers
                    to end, then submits a task and answers the repr of
                    its result (or of what submitting raised)
/poll_join          starts a thread that sleeps until stopped and polls
                    it with Thread.join(0.02) until the deadline, which it
                    catches: answers whether threading still takes the
                    thread for alive, then lets the runtime stop it
/starts             starts and joins threads that do nothing, one after
                    another, until DeadlineExceededError, which it catches:
                    answers how many it started (a new thread carries its
                    starter's id until it runs, so the exception must not
                    go to it)
/shared?role=X      a module-level queue.Queue that requests wait on: X=first
                    and X=second wait with get() (second answers what it got,
                    or "missed" and the queue's size if its deadline came
                    first); X=waiters answers how many wait; X=put holds the
                    queue's lock until the deadline has ended first's wait
                    (its thread waits for that lock then), puts an item and
                    notifies as Queue.put does, while first is still on the
                    list of waiters, then answers "put"
"""
import json
import logging
import os
import re
import select
import signal
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from google.appengine.api import api_base_pb2, apiproxy_stub_map, logservice
from google.appengine.runtime import DeadlineExceededError


def _answer(start_response, body, status="200 OK", ctype="text/plain"):
    start_response(status, [("Content-Type", ctype)])
    return [body]


def _ok(start_response):
    return _answer(start_response, json.dumps({
        "instance_id": os.environ.get("INSTANCE_ID"),
        "pid": os.getpid(),
        "thread": threading.get_ident(),
    }).encode(), ctype="application/json")


# /thread threads that DeadlineExceededError ended.
_stopped = []


def _stuck(kind, label=None):
    try:
        if kind == "loop":
            while True:
                pass
        elif kind == "lock":
            lock = threading.Lock()
            lock.acquire()
            lock.acquire()
        elif kind == "regex":
            re.match(r"(a+)+$", "a" * 40 + "b")
        else:
            time.sleep(10**6)
    except DeadlineExceededError:
        _stopped.append(label or kind)
        raise


def _wait_for_a_thread(how):
    if how == "result":
        ThreadPoolExecutor(1).submit(_stuck, "sleep", "wait-result").result()
        return
    import queue
    done, results = threading.Event(), queue.Queue()

    def work():
        _stuck("sleep", "wait-" + how)
        done.set()
        results.put(None)

    t = threading.Thread(target=work)
    t.start()
    if how == "join":
        t.join()
    elif how == "event":
        done.wait()
    else:
        results.get()


# RT4: a module global, its worker started by the first request using it.
_POOL = ThreadPoolExecutor(1)


def _task_env():
    return {k: os.environ.get(k) for k in ("QUERY_STRING", "REQUEST_LOG_ID")}


def _task_later():
    time.sleep(0.3)
    logging.warning("task done")


_POOL2 = ThreadPoolExecutor(1)


def _late():
    time.sleep(0.5)
    _stopped.append("pool-late")


def _handoff():
    try:
        time.sleep(10**6)
    except DeadlineExceededError:
        _stopped.append("pool-handoff")
        _POOL.submit(_late)
        raise


# The runtime's frame _on_call_of's action runs in.
_held_frame = []


def _on_call_of(name, action):
    """A profile function that runs action() once, when a function of the
    runtime's request_futures named name calls (or returns: "-" prefix)."""
    event_wanted = "return" if name.startswith("-") else "call"
    name = name.lstrip("-")

    def profile(frame, event, arg):
        code = frame.f_code
        if (event == event_wanted and code.co_name == name and
                code.co_filename.endswith("request_futures.py")):
            sys.setprofile(None)
            _held_frame[:] = [frame]
            action()
    return profile


def _pool(start_response, do):
    if do == "slowstart":
        stopped_now = threading.Event()

        def hold():
            stopped_now.wait(5)
            # Until the runtime's stop has reached this task (bounded).
            task = _held_frame[0].f_locals["self"]
            until = time.monotonic() + 5
            while task._stop_exc is None and time.monotonic() < until:
                time.sleep(0.01)
        _POOL.submit(sys.setprofile, _on_call_of("__call__", hold)).result()
        _POOL.submit(_stuck, "sleep", "pool-slowstart")
        try:
            time.sleep(100)
        except DeadlineExceededError:
            stopped_now.set()
            raise
    if do == "prune":
        go, done = threading.Event(), threading.Event()

        def other():
            go.wait(5)
            _POOL2.submit(time.sleep, 0.6)
            done.set()
        threading.Thread(target=other).start()
        futures = [_POOL.submit(int) for _ in range(64)]
        for f in futures:
            f.result()

        def meanwhile():
            go.set()
            done.wait(5)
        sys.setprofile(_on_call_of("-<listcomp>", meanwhile))
        try:
            _POOL.submit(int)
        finally:
            sys.setprofile(None)
        return _ok(start_response)
    if do == "handoff":
        _POOL.submit(_handoff)
        time.sleep(100)
    if do == "env":
        seen = _POOL.submit(_task_env).result()
        ok = json.loads(_ok(lambda *a: None)[0])
        return _answer(start_response, json.dumps(dict(ok, task=seen)).encode(),
                       ctype="application/json")
    if do == "later":
        _POOL.submit(_task_later)
    else:
        _POOL.submit(_stuck, do, "pool-" + do)
        _POOL.submit(_stopped.append, "pool-queued")
    return _ok(start_response)


# What /late threads did, and /callback's callbacks saw.
_late_ran = []
_callbacks_seen = {}


def _late_thread(kind):
    _late_ran.append("late-" + kind)
    if kind == "lock":
        lock = threading.Lock()
        lock.acquire()
        lock.acquire()
    while True:
        time.sleep(0.05)
        logging.warning("late thread still runs")


def _starts_a_late_thread(kind):
    try:
        time.sleep(10**6)
    except DeadlineExceededError:
        threading.Thread(target=_late_thread, args=(kind,), name="late-" + kind).start()
        raise


def _callback(start_response, n):
    def noted(future):
        time.sleep(0.2)
        _callbacks_seen[n] = _task_env()
        logging.warning("callback %s ran", n)

    _POOL.submit(time.sleep, 0.2).add_done_callback(noted)
    return _answer(start_response, json.dumps(_task_env()).encode(), ctype="application/json")


def _spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


_init_begun = []


def _sleeping_initializer():
    _init_begun.append(True)
    time.sleep(10**6)


_INIT_POOL = ThreadPoolExecutor(1, initializer=_sleeping_initializer)


def _init_pool(start_response, role):
    if role == "started":
        return _answer(start_response, json.dumps(bool(_init_begun)).encode())
    future = _INIT_POOL.submit(lambda: "ran")
    if role == "first":
        future.result()
    try:
        body = repr(future.result())
    except DeadlineExceededError:
        body = "DeadlineExceededError"
    except Exception as e:
        body = type(e).__name__
    return _answer(start_response, body.encode())


_LATE_INIT_POOL = ThreadPoolExecutor(1, initializer=lambda: None)


def _init_late(start_response, role):
    if role == "submit":
        def late():
            try:
                time.sleep(10**6)
            except DeadlineExceededError:
                _LATE_INIT_POOL.submit(lambda: "late")
                raise
        threading.Thread(target=late).start()
        return _ok(start_response)
    for t in list(_LATE_INIT_POOL._threads):
        t.join()
    try:
        body = repr(_LATE_INIT_POOL.submit(lambda: "ran").result())
    except Exception as e:
        body = type(e).__name__
    return _answer(start_response, body.encode())


# /shared: what requests wait on, and the thread of the first one.
_shared = None
_shared_first = []


def _shared_queue(start_response, role):
    global _shared
    import queue
    if _shared is None:
        _shared = queue.Queue()
    if role == "first":
        _shared_first.append(threading.get_ident())
        _shared.get()
    elif role == "second":
        try:
            return _answer(start_response, b"got " + _shared.get())
        except DeadlineExceededError:
            return _answer(start_response, b"missed, %d left" % _shared.qsize())
    elif role == "waiters":
        with _shared.mutex:
            return _answer(start_response, b"%d" % len(_shared.not_empty._waiters))
    elif role == "put":
        with _shared.mutex:
            # first's thread back in Condition.wait, retaking this lock:
            # the deadline ended its wait, whose waiter is still listed.
            while True:
                frame = sys._current_frames().get(_shared_first[-1])
                if frame is not None and frame.f_code.co_name == "_acquire_restore":
                    break
                time.sleep(0.01)
            _shared._put(b"item")
            _shared.unfinished_tasks += 1
            _shared.not_empty.notify()
        return _answer(start_response, b"put")
    return _ok(start_response)


def app(environ, start_response):
    path = environ["PATH_INFO"]
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    if path == "/work":
        _spin(float(q.get("ms", "0")) / 1000)
    elif path == "/sleep":
        time.sleep(float(q.get("s", "1")))
    elif path == "/busy":
        while True:
            pass
    elif path == "/select":
        select.select([], [], [], float(q.get("s", "100")))
    elif path == "/regex":
        if "name" in q:
            logging.info("regex %s begun", q["name"])
            logservice.flush()
        re.match(r"(a+)+$", "a" * 40 + "b")
    elif path == "/catch":
        try:
            time.sleep(100)
        except DeadlineExceededError as e:
            return _answer(start_response, str(e).encode() if q.get("say") else b"caught in time")
    elif path == "/api":
        try:
            apiproxy_stub_map.MakeSyncCall("gaelic_test", "Delay",
                                           api_base_pb2.Integer32Proto(value=100000),
                                           api_base_pb2.VoidProto())
        except DeadlineExceededError:
            return _answer(start_response, b"caught in time")
        return _answer(start_response, b"the call ended first")
    elif path == "/swallow":
        try:
            while True:
                pass
        except Exception:
            return _answer(start_response, b"swallowed")
    elif path == "/ignore":
        while True:
            try:
                while True:
                    pass
            except DeadlineExceededError:
                pass
    elif path == "/signals":
        signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        try:
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
        except ValueError:
            pass  # only the main thread may set handlers
        signal.setitimer(signal.ITIMER_REAL, 0)
        if q.get("then") == "sleep":
            time.sleep(100)
        else:
            while True:
                pass
    elif path == "/thread":
        threading.Thread(target=_stuck, args=(q.get("in", "sleep"),)).start()
        if q.get("catch"):
            try:
                time.sleep(100)
            except DeadlineExceededError:
                return _answer(start_response, b"caught in time")
    elif path == "/wait":
        try:
            _wait_for_a_thread(q.get("for", "join"))
        except DeadlineExceededError:
            if q.get("catch"):
                return _answer(start_response, b"caught in time")
            raise
    elif path == "/pool":
        return _pool(start_response, q.get("do", "env"))
    elif path == "/late":
        threading.Thread(target=_starts_a_late_thread, args=(q.get("in", "sleep"),)).start()
    elif path == "/late_seen":
        alive = [t.name for t in threading.enumerate() if t.name.startswith("late-")]
        return _answer(start_response, json.dumps({"ran": _late_ran, "alive": alive}).encode(),
                       ctype="application/json")
    elif path == "/callback":
        return _callback(start_response, q["id"])
    elif path == "/callback_seen":
        return _answer(start_response, json.dumps(_callbacks_seen.get(q["id"])).encode(),
                       ctype="application/json")
    elif path == "/profiled":
        import cProfile
        cProfile.Profile().runcall(_spin, 0.01)
    elif path == "/retire":
        import _gaelic
        _gaelic.retire(q.get("why", ""))
    elif path == "/init_pool":
        return _init_pool(start_response, q.get("role"))
    elif path == "/init_late":
        return _init_late(start_response, q.get("role"))
    elif path == "/poll_join":
        t = threading.Thread(target=_stuck, args=("sleep", "poll-join"))
        t.start()
        try:
            while t.is_alive():
                t.join(0.02)
        except DeadlineExceededError:
            return _answer(start_response, json.dumps(t.is_alive()).encode())
    elif path == "/starts":
        started = 0
        try:
            while True:
                t = threading.Thread(target=int)
                t.start()
                started += 1
                t.join()
        except DeadlineExceededError:
            return _answer(start_response, json.dumps(started).encode())
    elif path == "/shared":
        return _shared_queue(start_response, q.get("role"))
    elif path == "/stopped":
        return _answer(start_response, json.dumps(_stopped).encode(), ctype="application/json")
    return _ok(start_response)
