"""Request deadlines (RT7) with --deadline 1 --deadline_grace 1: at the
deadline DeadlineExceededError lands in the request's thread (500 with the
timeout page unless the handler catches it and answers in time), and in the
threads the request started; a request still running after the grace costs
its instance, which is replaced while the server goes on serving. Backends
have no deadline."""
import json
import os
import re
import threading
import time

import pytest
import requests

from harness import (HTTP_TIMEOUT, app_path, comm, copy_app, newest_entry, pid_alive,
                     run_gaelic, wait_pids_gone, write_app)

DEADLINE = 1.0
GRACE = 1.0
# Scheduling on a shared 2-core machine (and ASan) delays answers; this only
# has to be far below the 100 s the handlers would otherwise take.
SLACK = 2.5
FLAGS = ("--deadline", str(DEADLINE), "--deadline_grace", str(GRACE))

# The server's own 500 page, not the runtime's "The application failed".
BUILT_IN_500 = b"<h1>500 Internal Server Error</h1>"


@pytest.fixture(scope="module")
def srv(mserve):
    return mserve(app_path("deadlines"), *FLAGS, "--max_instances", "1", "--api_test_service")


def ok(s):
    return s.get_json("/ok")


def timed_get(s, path):
    t0 = time.monotonic()
    r = s.get(path, timeout=HTTP_TIMEOUT + 10)
    return r, time.monotonic() - t0


def instance_pids(s):
    return [pid for pid in s.children() if comm(pid) == "gaelic-instance"]


def wait_instances(s, n, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(instance_pids(s)) != n:
        time.sleep(0.05)
    return instance_pids(s)



def get_beside_others(s, path):
    """GETs path on a thread of its own while 20 ms requests run beside it
    on the same server: ((response, seconds), [the requests beside])."""
    result = []
    t = threading.Thread(target=lambda: result.append(timed_get(s, path)))
    t.start()
    beside = []
    while t.is_alive() and len(beside) < 200:
        beside.append(s.get("/work?ms=20"))
    t.join(HTTP_TIMEOUT + 10)
    assert result, "%s never finished" % path
    return result[0], beside


def assert_soft_timeout(s, path):
    """The exception stopped the request: 500 with the server's page soon
    after the deadline, and the same instance goes on serving."""
    before = ok(s)
    r, took = timed_get(s, path)
    assert r.status_code == 500, (path, r.status_code, r.content[:300])
    assert BUILT_IN_500 in r.content, r.content[:300]
    assert DEADLINE - 0.1 <= took < DEADLINE + GRACE + SLACK, "%s answered after %.2fs" % (path,
                                                                                        took)
    after = ok(s)
    assert after["instance_id"] == before["instance_id"], "the instance was replaced"
    assert after["pid"] == before["pid"]
    assert s.alive()


def assert_killed(s, path):
    """Nothing stopped the request: the instance is killed at the end of the
    grace, the request gets 500, a new instance serves the next one."""
    before = ok(s)
    mark = len(s.stderr_text())
    r, took = timed_get(s, path)
    assert r.status_code == 500, (path, r.status_code, r.content[:300])
    assert BUILT_IN_500 in r.content, r.content[:300]
    assert DEADLINE + GRACE - 0.1 <= took < DEADLINE + GRACE + SLACK, "%.2fs" % took
    # Past mark: on the module's server an earlier kill said this already.
    assert s.wait_stderr("deadline exceeded: request", since=mark), s.stderr_text()[-3000:]
    assert "the instance is killed" in s.stderr_text()[mark:]
    after = ok(s)
    assert after["instance_id"] != before["instance_id"]
    pids = wait_instances(s, 1)
    assert len(pids) == 1 and before["pid"] not in pids, (before, after, pids)
    assert not pid_alive(before["pid"]), "the killed instance is still running"
    assert s.alive()


def test_requests_within_the_deadline_are_unaffected(srv):
    first = ok(srv)
    for path in ("/sleep?s=0.5", "/work?ms=500", "/select?s=0.5"):
        r = srv.get(path)
        assert r.status_code == 200, (path, r.status_code, r.content[:300])
        assert r.json()["instance_id"] == first["instance_id"]


def test_busy_loop(srv):
    assert_soft_timeout(srv, "/busy")


def test_sleep_is_cut_short(srv):
    assert_soft_timeout(srv, "/sleep?s=100")


def test_select_on_nothing_is_cut_short(srv):
    assert_soft_timeout(srv, "/select")


def test_cgi_script(serve, tmp_path):
    d = copy_app("deadlines", tmp_path / "app",
                 lambda text: text.replace("threadsafe: true", "threadsafe: false").replace(
                     "handlers:\n", "handlers:\n- url: /cgi/sleep\n  script: cgi_sleep.py\n"))
    assert_soft_timeout(serve(d, *FLAGS, "--max_instances", "1"), "/cgi/sleep")


def test_except_exception_does_not_catch_it(srv):
    r = srv.get("/swallow")
    assert r.status_code == 500 and b"swallowed" not in r.content, r.content[:300]


@pytest.mark.parametrize("then", ["busy", "sleep"])
def test_blocked_signals_change_nothing(srv, then):
    assert_soft_timeout(srv, "/signals?then=" + then)


# /catch sleeps; /api waits for an API answer, which the deadline ends too.
@pytest.mark.parametrize("path", ["/catch", "/api"])
def test_caught_and_answered_within_the_grace(srv, path):
    before = ok(srv)
    r, took = timed_get(srv, path)
    assert r.status_code == 200 and r.content == b"caught in time", r.content[:300]
    assert took < DEADLINE + GRACE + SLACK
    assert ok(srv)["instance_id"] == before["instance_id"]


def test_the_exception_says_what_happened(srv):
    """As App Engine's did, the exception explains itself: str() of it (and
    so the last line of a logged traceback) names the request's deadline,
    not an empty string."""
    r = srv.get("/catch?say=1", timeout=HTTP_TIMEOUT + 10)
    assert r.status_code == 200, r.content[:300]
    assert b"deadline" in r.content and b"request" in r.content, r.content


def test_handler_starting_threads_gets_it_not_a_thread_it_starts(srv):
    """Until a thread that Thread.start() has created runs, CPython gives
    its thread state the id of the thread that started it, and looks up a
    thread by id newest first. The handler, which starts threads one after
    another, must get DeadlineExceededError itself every time: given to the
    new thread, it would be lost there, and the handler would run on to
    the end of the grace and cost its instance."""
    before = ok(srv)
    for _ in range(5):
        r = srv.get("/starts", timeout=HTTP_TIMEOUT + 10)
        assert r.status_code == 200 and int(r.content) > 0, (r.status_code, r.content[:300])
    assert ok(srv)["instance_id"] == before["instance_id"]


def test_catastrophic_regex_costs_the_instance(srv):
    assert_killed(srv, "/regex")


def test_killed_request_s_log_says_why(srv):
    """The request whose instance is killed at the end of its grace has
    its own log say so, besides the console (RT9)."""
    assert_killed(srv, "/regex?for=log")

    def entry():
        # This request's entry: on the module's server an earlier kill's
        # entry may say "killed" already, before this one's line is stored.
        text = newest_entry(srv.logs().stdout, "/regex?for=log", 500)
        return text if text and "its instance was killed" in text else None
    assert wait_for(entry), srv.logs().stdout[:3000]
    text = entry()
    assert "\t4:" in text and "ran after its deadline" in text, text[:3000]


def test_handler_that_ignores_it_is_killed(srv):
    assert_killed(srv, "/ignore")


def stopped(s):
    return s.get_json("/stopped")


@pytest.mark.parametrize("kind", ["sleep", "loop"])
def test_thread_the_request_waits_for_is_stopped(srv, kind):
    """The wait for a request's thread ends at the deadline: the request
    gets the deadline's 500, the thread DeadlineExceededError, and requests
    running beside it on the same instance are answered normally."""
    first = ok(srv)
    before = stopped(srv)
    (r, _), fast = get_beside_others(srv, "/thread?in=" + kind)
    assert r.status_code == 500 and BUILT_IN_500 in r.content, (r.status_code, r.content[:300])
    assert fast and all(f.status_code == 200 for f in fast), [f.status_code for f in fast]
    assert {f.json()["instance_id"] for f in fast} == {first["instance_id"]}
    after = ok(srv)
    assert (after["instance_id"], after["pid"]) == (first["instance_id"], first["pid"]), \
        "the instance was replaced"
    assert stopped(srv) == before + [kind]


IMPORT_THREAD_MAIN = """\
import threading
import time


def _flush_forever():
    while True:
        time.sleep(0.05)


threading.Thread(target=_flush_forever, name="flusher", daemon=True).start()


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def test_a_thread_started_at_import_fails_its_request_and_says_why(serve, tmp_path):
    """A module that starts a thread as it is imported (python3 libraries
    do) starts it in the request that imports it, which RT11 then waits
    for until its deadline. That request's log says which thread it waited
    for and why, not only a traceback of the runtime's wait; the thread is
    stopped and the next request is answered."""
    d = write_app(tmp_path / "import_thread", "runtime: python312\n",
                  {"main.py": IMPORT_THREAD_MAIN})
    s = serve(d, *FLAGS)
    r = s.get("/first", timeout=HTTP_TIMEOUT + 10)
    assert r.status_code == 500, (r.status_code, r.content[:300])
    assert s.get("/second").status_code == 200

    def entry():
        text = newest_entry(s.logs().stdout, "/first", 500)
        return text if text and "waiting for" in text else None
    assert wait_for(entry), s.logs().stdout[:3000]
    text = entry()
    assert "ran past its deadline waiting for thread flusher it started" in text, text
    assert "(RT11)" in text and "background_thread" in text, text


HELD_THREAD_MAIN = """\
import threading

released = threading.Event()


def app(environ, start_response):
    if environ["PATH_INFO"] == "/release":
        released.set()
    else:
        threading.Thread(target=released.wait, name="held-worker").start()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def test_a_request_waiting_long_for_its_threads_says_so(serve, tmp_path):
    """A request whose handler has ended but whose thread still runs 5 s
    later logs a warning naming the thread and RT11 (python3's deadline is
    10 minutes: its client would wait with nothing on the console to say
    why), then is answered when the thread ends."""
    d = write_app(tmp_path / "held_thread", "runtime: python312\n",
                  {"main.py": HELD_THREAD_MAIN})
    s = serve(d, "--max_instances", "1")
    box = {}
    held = threading.Thread(target=lambda: box.update(r=s.get("/hold", timeout=HTTP_TIMEOUT)),
                            daemon=True)
    held.start()
    try:
        warning = "still waits for thread held-worker it started, 5 s after its handler ended"
        assert wait_for(lambda: warning in s.stderr_text(), timeout=30), s.stderr_text()[-3000:]
        assert "(RT11)" in s.stderr_text()
        assert "r" not in box
    finally:
        assert s.get("/release").status_code == 200
        held.join(HTTP_TIMEOUT)
    assert box["r"].status_code == 200 and box["r"].content == b"ok"


@pytest.mark.parametrize("how", ["join", "result", "event", "queue"])
def test_handler_waiting_for_its_thread_gets_the_exception(srv, how):
    """A handler that waits for a thread it started (Thread.join,
    Future.result, Event.wait, Queue.get) gets DeadlineExceededError in
    that wait: the request gets the deadline's 500, the thread is stopped,
    and the instance and the requests beside it go on. The wait used to be
    one lock wait the exception could not land in, so the master killed
    the instance at the end of the grace, with every request on it."""
    first = ok(srv)
    before = stopped(srv)
    (r, _), beside = get_beside_others(srv, "/wait?for=" + how)
    assert r.status_code == 500 and BUILT_IN_500 in r.content, (r.status_code, r.content[:300])
    assert beside and all(b.status_code == 200 for b in beside), [b.status_code for b in beside]
    after = ok(srv)
    assert (after["instance_id"], after["pid"]) == (first["instance_id"], first["pid"]), \
        "the instance was killed"
    assert stopped(srv) == before + ["wait-" + how]


@pytest.mark.parametrize("how", ["join", "result"])
def test_handler_catching_it_in_a_wait_answers_within_the_grace(srv, how):
    before = ok(srv)
    r, _ = timed_get(srv, "/wait?catch=1&for=" + how)
    assert r.status_code == 200 and r.content == b"caught in time", r.content[:300]
    assert ok(srv)["instance_id"] == before["instance_id"]


def test_wakeup_for_a_request_the_deadline_ends_goes_to_another_waiter(srv):
    """Two requests wait on one module-level queue; the deadline ends the
    first one's wait just as an item is put, while it is still the first
    waiter: the notify chose it, so the second must get the wakeup. It
    used to sleep on beside the item until its own deadline ("missed, 1
    left"): the first's wait had taken the wakeup with it."""
    waiting = lambda n: wait_for(lambda: srv.get("/shared?role=waiters").text == str(n))
    first = []
    t1 = threading.Thread(target=lambda: first.append(timed_get(srv, "/shared?role=first")))
    t1.start()
    assert waiting(1)
    # So that the second's own deadline comes well after the first's.
    time.sleep(DEADLINE / 2)
    second = []
    t2 = threading.Thread(target=lambda: second.append(timed_get(srv, "/shared?role=second")))
    t2.start()
    assert waiting(2)
    r = srv.get("/shared?role=put", timeout=HTTP_TIMEOUT + 10)
    t1.join(HTTP_TIMEOUT + 10)
    t2.join(HTTP_TIMEOUT + 10)
    assert r.text == "put", r.text
    assert first[0][0].status_code == 500 and BUILT_IN_500 in first[0][0].content
    assert second[0][0].text == "got item", second[0][0].text
    assert srv.get("/shared?role=waiters").text == "0"


def test_pool_broken_by_a_stopped_initializer_fails_the_tasks_queued(srv):
    """The deadline stops the pool initializer that a request's submit
    started (it sleeps), which breaks the pool as an initializer raising
    does: a task another request queued meanwhile fails with
    BrokenThreadPool. It used to wait until that request's own deadline:
    the pool's drain stopped at the first request's task, which the same
    deadline had cancelled. Since a pool kept in a module global would
    fail every later request, the instance retires."""
    first_id, first_pid = ok(srv)["instance_id"], ok(srv)["pid"]
    first = []
    t1 = threading.Thread(target=lambda: first.append(timed_get(srv, "/init_pool?role=first")))
    t1.start()
    assert wait_for(lambda: srv.get_json("/init_pool?role=started"))
    # So that the second's own deadline comes well after the first's.
    time.sleep(DEADLINE / 2)
    second = srv.get("/init_pool?role=second", timeout=HTTP_TIMEOUT + 10)
    t1.join(HTTP_TIMEOUT + 10)
    assert first[0][0].status_code == 500 and BUILT_IN_500 in first[0][0].content
    assert second.text == "BrokenThreadPool", second.text
    # A pool in a module global stays broken: the instance retires, so
    # that the requests after it get one with a pool that works.
    assert srv.wait_stderr("has a thread pool broken by request"), srv.stderr_text()[-2000:]
    assert "stopped its pool initializer _sleeping_initializer" in srv.stderr_text()
    assert not wait_pids_gone([first_pid], 15), "the instance still runs"
    assert ok(srv)["instance_id"] != first_id


def test_submit_after_the_deadline_does_not_break_the_pool(srv):
    """A request's thread that the deadline stopped submits to a module
    pool with an initializer and no worker yet: the task is cancelled, and
    the pool serves the next request. It used to start a worker whose
    initializer raised the deadline's exception at once, which broke the
    pool (BrokenThreadPool) for every request after."""
    r = srv.get("/init_late?role=submit", timeout=HTTP_TIMEOUT + 10)
    assert r.status_code == 500 and BUILT_IN_500 in r.content, (r.status_code, r.content[:300])
    assert srv.get("/init_late?role=use").text == "'ran'"


def test_deadline_in_a_short_join_leaves_the_thread_alive(srv):
    """A handler polling its thread with join(0.02) catches the deadline
    there: the thread still runs, and threading says so. The deadline
    landed in CPython's join itself, whose handler for an interrupted wait
    released the running thread's lock, so is_alive() said False."""
    before = stopped(srv)
    r = srv.get("/poll_join", timeout=HTTP_TIMEOUT + 10)
    assert r.status_code == 200 and r.json() is True, (r.status_code, r.content[:300])
    assert stopped(srv) == before + ["poll-join"]


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_thread_blocked_in_c_retires_its_instance(srv):
    """A thread waiting on a lock cannot take the exception: the request is
    answered without it, requests beside it on the instance are answered,
    and since the thread would outlive its request (RT11), the instance is
    shut down and a new one serves what comes next."""
    before = ok(srv)
    mark = len(srv.stderr_text())
    (r, took), beside = get_beside_others(srv, "/thread?in=lock")
    assert r.status_code == 500 and BUILT_IN_500 in r.content, (r.status_code, r.content[:300])
    assert DEADLINE - 0.1 <= took < DEADLINE + GRACE + SLACK, "answered after %.2fs" % took
    assert beside and all(b.status_code == 200 for b in beside), [b.status_code for b in beside]
    assert "left behind" in srv.wait_logs("left behind"), srv.stderr_text()[-2000:]
    assert srv.wait_stderr("which threads may not outlive (RT11); shutting it down", since=mark), \
        srv.stderr_text()[-3000:]
    # The console line names the thread and the request.
    assert re.search(r"has thread Thread-\d+ \(_stuck\) of request \d+ still running",
                     srv.stderr_text()[mark:]), srv.stderr_text()[-3000:]
    # Not killed at the end of the grace: it stopped once its requests ended.
    assert "the instance is killed" not in srv.stderr_text()[mark:]
    assert not wait_pids_gone([before["pid"]], 15), "the instance still runs"
    after = ok(srv)
    assert after["instance_id"] != before["instance_id"]
    assert srv.alive()


def test_thread_pool_tasks_belong_to_their_request(srv):
    """A module-level ThreadPoolExecutor (RT4): its worker serves every
    request, and no request's end waits for it; each task runs with its
    request's os.environ."""
    first = srv.get_json("/pool?do=env&n=1")
    for n in range(2, 5):
        t0 = time.monotonic()
        r = srv.get_json("/pool?do=env&n=%d" % n)
        assert time.monotonic() - t0 < DEADLINE, "the request waited for the pool's worker"
        assert r["task"]["QUERY_STRING"] == "do=env&n=%d" % n, r
        assert r["task"]["REQUEST_LOG_ID"] != first["task"]["REQUEST_LOG_ID"]
        assert r["instance_id"] == first["instance_id"]


def test_request_waits_for_the_tasks_it_submitted(srv):
    """Work a request hands to a pool without waiting for it still ends
    before the request does (RT11), and logs to that request."""
    r, took = timed_get(srv, "/pool?do=later")
    assert r.status_code == 200, r.content[:300]
    assert 0.3 <= took < DEADLINE, "answered after %.2fs" % took
    out = srv.wait_logs("task done", "--json", "--limit", "0")
    rows = [json.loads(line) for line in out.splitlines()]
    lines = [l["message"] for e in rows if e["resource"] == "/pool?do=later"
             for l in e["app_logs"]]
    assert lines == ["task done"], out[-2000:]


@pytest.mark.parametrize("kind", ["sleep", "loop"])
def test_pool_tasks_stopped_at_the_deadline(srv, kind):
    """At the deadline the request's running task gets DeadlineExceededError
    and its queued task is cancelled; the pool's worker lives on, and the
    instance keeps serving."""
    before = ok(srv)
    count = len(stopped(srv))
    r, took = timed_get(srv, "/pool?do=" + kind)
    assert r.status_code == 500 and BUILT_IN_500 in r.content, (r.status_code, r.content[:300])
    assert DEADLINE - 0.1 <= took < DEADLINE + GRACE + SLACK, "answered after %.2fs" % took
    assert stopped(srv)[count:] == ["pool-" + kind]
    after = srv.get_json("/pool?do=env")
    assert (after["instance_id"], after["pid"]) == (before["instance_id"], before["pid"])
    assert stopped(srv)[count:] == ["pool-" + kind], "the cancelled task ran"


def test_profiling_works_after_a_pool_task_was_stopped(srv):
    """Stopping a task at its deadline leaves the interpreter as it was: a
    thread with a profile function (cProfile) still runs (it spun at its
    next call while the async exception signal stayed set)."""
    r, _ = timed_get(srv, "/pool?do=sleep")
    assert r.status_code == 500
    r, took = timed_get(srv, "/profiled")
    assert r.status_code == 200, (took, r.content[:300])
    assert took < DEADLINE


def test_pool_task_blocked_in_c_retires_its_instance(srv):
    before = ok(srv)
    mark = len(srv.stderr_text())
    r, took = timed_get(srv, "/pool?do=lock")
    assert r.status_code == 500 and BUILT_IN_500 in r.content, (r.status_code, r.content[:300])
    assert DEADLINE - 0.1 <= took < DEADLINE + GRACE + SLACK, "answered after %.2fs" % took
    # Past mark: test_thread_blocked_in_c_retires_its_instance said as much.
    assert srv.wait_stderr("which threads may not outlive (RT11); shutting it down", since=mark), \
        srv.stderr_text()[-3000:]
    assert "has thread pool task _stuck of request" in srv.stderr_text()[mark:]
    assert not wait_pids_gone([before["pid"]], 15), "the instance still runs"
    assert srv.get_json("/pool?do=env")["instance_id"] != before["instance_id"]


def test_task_handed_off_after_the_deadline_does_not_outlive_its_request(srv):
    """A task that catches the deadline's exception and hands more work to
    the pool: that work belongs to a request that is over, and never runs."""
    before = ok(srv)
    count = len(stopped(srv))
    r, took = timed_get(srv, "/pool?do=handoff")
    assert r.status_code == 500 and BUILT_IN_500 in r.content, (r.status_code, r.content[:300])
    time.sleep(1.0)
    assert stopped(srv)[count:] == ["pool-handoff"]
    assert ok(srv)["pid"] == before["pid"]


def test_task_stopped_as_the_pool_starts_it(srv):
    """The deadline's stop comes after the pool's worker has taken a task
    but before the task runs: it must still be stopped (not run on, which
    retires the instance)."""
    before = ok(srv)
    count = len(stopped(srv))
    mark = len(srv.stderr_text())
    r, took = timed_get(srv, "/pool?do=slowstart")
    assert r.status_code == 500 and BUILT_IN_500 in r.content, (r.status_code, r.content[:300])
    assert DEADLINE - 0.1 <= took < DEADLINE + GRACE + SLACK, "answered after %.2fs" % took
    after = ok(srv)
    assert after["pid"] == before["pid"], srv.stderr_text()[mark:]
    assert "left behind" not in srv.stderr_text()[mark:]
    assert stopped(srv)[count:] == [], "the stopped task ran"


@pytest.mark.parametrize("kind", ["sleep", "lock"])
def test_thread_started_by_a_stopped_thread_does_not_outlive_the_request(srv, kind):
    """A thread the deadline stopped starts another as it ends: the request
    is over, so the new thread is stopped as it begins, and the response
    waits for it. Its code never runs: one that would wait on a lock
    nobody releases does not cost the instance either."""
    before = ok(srv)
    mark = len(srv.stderr_text())
    r, took = timed_get(srv, "/late?in=" + kind)
    assert r.status_code == 500 and BUILT_IN_500 in r.content, (r.status_code, r.content[:300])
    assert DEADLINE - 0.1 <= took < DEADLINE + GRACE + SLACK, "answered after %.2fs" % took
    assert srv.get_json("/late_seen") == {"ran": [], "alive": []}
    after = ok(srv)
    assert (after["instance_id"], after["pid"]) == (before["instance_id"], before["pid"])
    assert "left behind" not in srv.stderr_text()[mark:]


def test_done_callbacks_run_in_their_request(srv):
    """concurrent.futures runs a done-callback added to a pool task's future
    in the pool's worker, right after the task: it still sees its request's
    os.environ, logs to that request, and the request waits for it as for
    the task."""
    for n in ("1", "2"):  # the second finds the pool's worker started
        r = srv.get("/callback?id=" + n)
        assert r.status_code == 200, r.content[:300]
        assert srv.get_json("/callback_seen?id=" + n) == r.json()
    out = srv.wait_logs("callback 2 ran", "--json", "--limit", "0")
    rows = [json.loads(line) for line in out.splitlines()]
    lines = [l["message"] for e in rows if e["resource"] == "/callback?id=2"
             for l in e["app_logs"]]
    assert lines == ["callback 2 ran"], out[-2000:]


def test_pruning_tasks_loses_none_another_thread_submits(srv):
    """A request's list of tasks is pruned once long: a task another of its
    threads submits meanwhile is still waited for."""
    r, took = timed_get(srv, "/pool?do=prune")
    assert r.status_code == 200, r.content[:300]
    assert took >= 0.6, "answered after %.2fs, before its task ended" % took


def test_retire_from_app_code_only_costs_its_instance(srv):
    """The runtime's retire call is within the app's reach: its text cannot
    forge console lines, and it only shuts the app's own instance down."""
    before = ok(srv)
    r = srv.get("/retire?why=" + requests.utils.quote("now\n2026-01-01 WARNING forged\x1b[2J"))
    assert r.status_code == 200 and r.json()["instance_id"] == before["instance_id"]
    assert srv.wait_stderr("now?2026-01-01 WARNING forged?[2J; shutting it down"), \
        srv.stderr_text()[-2000:]
    assert "\n2026-01-01 WARNING forged" not in srv.stderr_text()
    assert not wait_pids_gone([before["pid"]], 15), "the instance still runs"
    assert ok(srv)["instance_id"] != before["instance_id"]


def test_retire_reason_shows_as_valid_utf8_without_controls(srv):
    """A C1 control (U+009B, a terminal's CSI) is one '?', like a C0 one;
    the runtime cuts the reason at IPC_RETIRE_REASON_MAX bytes, here just
    inside the euro sign, so the whole sign goes (the master turns a cut
    character into '?'s: tests/unit/test_log.c). The rest of the line
    (text, an accented letter) stays as sent."""
    before = ok(srv)
    why = "caf\u00e9 \u009b2J " + "x" * 1011 + "\u20ac"  # 1025 bytes in UTF-8
    assert len(why.encode()) == 1025
    r = srv.get("/retire?why=" + requests.utils.quote(why))
    assert r.status_code == 200 and r.json()["instance_id"] == before["instance_id"]
    shown = "caf\u00e9 ?2J " + "x" * 1011 + "; shutting it down"
    assert srv.wait_stderr(shown), srv.stderr_text()[-2000:]
    with open(srv.stderr_path, "rb") as f:
        raw = f.read().decode("utf-8")  # strict: every byte valid UTF-8
    assert not [c for c in raw if 0x80 <= ord(c) <= 0x9f], "a C1 control reached the console"
    assert not wait_pids_gone([before["pid"]], 15), "the instance still runs"


def test_thread_stopped_when_the_handler_caught_it(srv):
    """The handler caught the deadline and answered: that answer stands,
    and its stuck thread is stopped all the same."""
    before = ok(srv)
    count = len(stopped(srv))
    r = srv.get("/thread?in=sleep&catch=1", timeout=HTTP_TIMEOUT + 10)
    assert r.status_code == 200 and r.content == b"caught in time", (r.status_code,
                                                                     r.content[:300])
    assert stopped(srv)[count:] == ["sleep"]
    assert ok(srv)["pid"] == before["pid"]


def test_thread_stuck_in_c_with_the_gil_costs_the_instance(srv):
    assert_killed(srv, "/thread?in=regex")


def test_slow_and_fast_requests_on_one_instance(srv):
    """threadsafe: only the slow request fails; the fast ones running beside
    it on the same instance are answered normally, before and after."""
    first = ok(srv)
    (r, took), fast = get_beside_others(srv, "/sleep?s=100")
    assert r.status_code == 500 and took < DEADLINE + GRACE + SLACK, (r.status_code, took)
    assert fast and all(f.status_code == 200 for f in fast), [f.status_code for f in fast]
    assert {f.json()["instance_id"] for f in fast} == {first["instance_id"]}
    assert ok(srv)["instance_id"] == first["instance_id"]
    assert len(instance_pids(srv)) == 1


def test_request_log_says_500(srv):
    # test_busy_loop left a /busy row on this server already: this
    # request's is the one that was not there before (bounded wait).
    before = set(srv.log_rows("/busy")[0])
    r = srv.get("/busy")
    assert r.status_code == 500
    new, out = srv.wait_new_log_rows("/busy", before, bool)
    assert len(new) == 1 and new[0]["status"] == 500, out[-2000:]


def test_request_log_counts_the_cpu_of_a_request_past_its_deadline(srv):
    """RT9/RT12: a request that spins until its deadline ends it still used
    the CPU it spun; its 500 row counts those megacycles, as a request the
    app answers does (the server's timeout page logged 0)."""
    before = set(srv.log_rows("/busy")[0])
    r = srv.get("/busy")
    assert r.status_code == 500
    new, out = srv.wait_new_log_rows("/busy", before, bool)
    assert len(new) == 1 and new[0]["status"] == 500, out[-2000:]
    assert new[0]["mcycles"] > 0, new


def test_finished_requests_leave_no_stray_deadline(serve):
    """Requests ending just before, at or after their deadline, one thread
    answering all of them: whatever each gets, a deadline never lands in a
    later request of that thread."""
    s = serve(app_path("deadlines"), "--deadline", "0.3", "--deadline_grace", "1",
              "--threads", "1", "--max_instances", "1")
    for _ in range(5):  # the first request imports the app, which may take a while
        first = s.get("/ok")
        if first.status_code == 200:
            break
    assert first.status_code == 200, first.content[:300]
    thread = first.json()["thread"]
    for ms in (260, 280, 290, 295, 300, 305, 310, 320, 340):
        r = s.get("/work?ms=%d" % ms)
        assert r.status_code in (200, 500), (ms, r.status_code)
        for _ in range(3):
            r = s.get("/work?ms=30")
            assert r.status_code == 200, (ms, r.status_code, r.content[:300])
            assert r.json()["thread"] == thread
    assert "the instance is killed" not in s.stderr_text()


def test_timeout_error_handler_page(serve, tmp_path):
    d = copy_app("deadlines", tmp_path / "app",
                 lambda text: text + "\nerror_handlers:\n- file: default.html\n"
                 "- error_code: timeout\n  file: timeout.txt\n  mime_type: text/x-timeout\n")
    with open(os.path.join(d, "default.html"), "w") as f:
        f.write("the default page")
    with open(os.path.join(d, "timeout.txt"), "w") as f:
        f.write("out of time")
    s = serve(d, *FLAGS)
    for path in ("/sleep?s=100", "/regex"):  # the exception, then the kill
        r = s.get(path)
        assert r.status_code == 500, (path, r.status_code)
        assert r.content == b"out of time", (path, r.content[:300])
        assert r.headers["Content-Type"] == "text/x-timeout"
    assert s.get("/ok").status_code == 200


def test_backends_have_no_deadline(serve, tmp_path):
    d = copy_app("deadlines", tmp_path / "app")
    with open(os.path.join(d, "backends.yaml"), "w") as f:
        f.write("backends:\n- name: worker\n  instances: 1\n  options: public\n")
    s = serve(d, "--deadline", "0.5")
    host = {"Host": "worker.localhost:%d" % s.port}
    r = requests.get(s.url + "sleep?s=1.5", headers=host, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, (r.status_code, r.content[:300], s.stderr_text()[-2000:])
    assert s.get("/sleep?s=1.5").status_code == 500  # the default version has one


def test_backend_start_request_has_no_deadline(serve, tmp_path):
    d = write_app(tmp_path / "app", "application: slowstart\nversion: 1\nruntime: python27\n"
                  "api_version: 1\nthreadsafe: true\nhandlers:\n- url: /.*\n  script: main.app\n",
                  {"backends.yaml": "backends:\n- name: worker\n  instances: 1\n"
                                    "  options: public\n  start: main.start\n",
                   "main.py": "import time\n\n"
                              "def start(environ, start_response):\n"
                              "    time.sleep(1.5)\n"
                              "    start_response('200 OK', [])\n    return [b'']\n\n"
                              "def app(environ, start_response):\n"
                              "    start_response('200 OK', [])\n    return [b'up']\n"})
    s = serve(d, "--deadline", "0.5")
    r = requests.get(s.url, headers={"Host": "worker.localhost:%d" % s.port},
                     timeout=HTTP_TIMEOUT)
    assert r.status_code == 200 and r.content == b"up", (r.status_code, r.content[:300],
                                                         s.stderr_text()[-2000:])
    assert s.wait_stderr("GET /_ah/start 200"), s.stderr_text()[-2000:]
    assert "past its deadline" not in s.stderr_text()


@pytest.mark.parametrize("flag", ["--deadline", "--deadline_grace"])
@pytest.mark.parametrize("value", ["0", "-1", "abc", "", "1e99", "nan"])
def test_bad_deadline_values_are_refused(flag, value):
    r = run_gaelic("serve", app_path("deadlines"), "--port", "0", flag, value)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert flag + ":" in r.stderr or "needs a value" in r.stderr, r.stderr
    assert "serving app" not in r.stdout


def test_help_lists_the_deadline_flags():
    out = run_gaelic("serve", "--help").stdout
    assert "--deadline S" in out and "--deadline_grace S" in out


def test_request_that_comes_during_a_grace_is_not_lost_with_the_instance(serve):
    """Once a request is past its deadline its instance may be killed at
    the end of the grace: a request that comes meanwhile must not be handed
    to it, else the kill costs it too. It waits, and the instance that
    replaces the killed one serves it. (Its 1.5 s sleep outlasts any rest
    of the 1 s grace, and fits in the 3 s deadline.)"""
    s = serve(app_path("deadlines"), "--deadline", "3", "--deadline_grace", "1",
              "--max_instances", "1")
    before = ok(s)
    mark = len(s.stderr_text())
    ignored = []
    t = threading.Thread(target=lambda: ignored.append(timed_get(s, "/ignore")))
    t.start()
    try:
        assert s.wait_stderr("raising DeadlineExceededError", since=mark), s.stderr_text()[-3000:]
        r = s.get("/sleep?s=1.5", timeout=HTTP_TIMEOUT + 10)
    finally:
        t.join(HTTP_TIMEOUT + 10)
    assert ignored and ignored[0][0].status_code == 500
    assert "the instance is killed" in s.stderr_text()[mark:]
    assert r.status_code == 200, (r.status_code, r.content[:300])
    assert r.json()["instance_id"] != before["instance_id"]
