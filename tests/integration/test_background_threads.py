"""Background threads (BG1-BG3) on the backends test app: they outlive
their request, run only on backends, at most 10 per instance, each with its
own os.environ and its own request log, keep a dynamic instance from idling
out and get the shutdown notice."""
import json
import time

import pytest

from harness import run_gaelic, wait_pids_gone
from test_backends import app, backends, get, listing, srv, wait_for, who  # noqa: F401


def bg_start(srv, host, **params):
    query = "&".join("%s=%s" % kv for kv in params.items())
    r = get(srv, host, "/bg/start?" + query)
    assert r.status_code == 200, r.text
    return r.json()


def bg_status(srv, host):
    return get(srv, host, "/bg/status").json()


def test_frontends_are_not_supported(srv):
    assert bg_start(srv, None, n=1)["error"] == "FrontendsNotSupported"
    assert bg_start(srv, None, n=1, api="class")["error"] == "FrontendsNotSupported"
    # The master decides, not the instance's os.environ: a frontend that
    # sets BACKEND_ID gets no thread either, and no request log for one.
    before = {row["request_id"] for row in log_rows(srv) if row["resource"] == "/_ah/background"}
    for api in ("function", "class"):
        d = bg_start(srv, None, n=2, api=api, pose_as="worker", tag="posing")
        assert d["error"] == "FrontendsNotSupported" and d["started"] == 0, d
    time.sleep(0.5)
    assert bg_status(srv, None)["seen_env"] == []  # no thread ran
    assert {row["request_id"] for row in log_rows(srv)
            if row["resource"] == "/_ah/background"} == before


def test_thread_outlives_its_request_with_its_own_environ(srv):
    d = bg_start(srv, "0.worker.localhost", n=1, secs=1.5, tag="one")
    assert d == {"started": 1, "error": None, "ids_are_ints": True, "env_after": "one"}
    # Still running after its request: the request did not wait for it.
    assert bg_status(srv, "0.worker.localhost")["done"] == []
    wait_for(lambda: bg_status(srv, "0.worker.localhost")["done"] == ["one-0"], timeout=10,
             what="the background thread")
    st = bg_status(srv, "0.worker.localhost")
    # Its os.environ is its own request's: nothing of its creator's.
    assert st["seen_env"] == [None]
    d = bg_start(srv, "0.worker.localhost", n=1, secs=0.1, tag="two", api="class")
    assert d["started"] == 1 and d["env_after"] == "two"


def test_thread_environ_is_its_own_background_request(srv):
    """BG3: the thread runs as its own /_ah/background request: its
    REQUEST_LOG_ID is its request log's (as logservice and `gaelic logs`
    show it), not its creator's, and its API calls work after its creator
    ended."""
    host = "0.worker.localhost"
    creator = get(srv, host, "/bg/env").json()
    seen = wait_for(lambda: get(srv, host, "/bg/env_seen").json().get("thread"), timeout=10,
                    what="the thread's environ")
    log_id = seen["REQUEST_LOG_ID"]
    assert log_id and log_id != creator["REQUEST_LOG_ID"]
    assert (seen["PATH_INFO"], seen["REQUEST_METHOD"], seen["QUERY_STRING"]) == \
        ("/_ah/background", "GET", "")
    assert (seen["BACKEND_ID"], seen["INSTANCE_ID"]) == ("worker", "0")
    ticket = seen["HTTP_X_APPENGINE_API_TICKET"]
    assert ticket and ticket != creator["HTTP_X_APPENGINE_API_TICKET"]
    # The creator's request is over (its answer came): the thread's API
    # call now is its own.
    get(srv, host, "/bg/env_release")
    fetched = wait_for(lambda: get(srv, host, "/bg/env_seen").json().get("fetched"),
                       timeout=10, what="the thread's logservice call")
    assert fetched == [[log_id, "/_ah/background"]]
    rows = [row for row in log_rows(srv) if row["request_id"] == log_id]
    assert len(rows) == 1 and rows[0]["resource"] == "/_ah/background"
    assert rows[0]["host"] == "0.worker.localhost:%d" % srv.port, rows[0]
    assert [line["message"] for line in rows[0]["app_logs"]] == ["background env thread"]


def test_ten_per_instance_then_a_slot_frees(srv):
    d = bg_start(srv, "0.worker.localhost", n=11, secs=1.0, tag="many")
    assert d["started"] == 10 and d["error"] == "BackgroundThreadLimitReachedError"
    assert bg_start(srv, "0.worker.localhost", n=1, secs=0.1)["error"] == \
        "BackgroundThreadLimitReachedError"
    wait_for(lambda: len(bg_status(srv, "0.worker.localhost")["done"]) == 10, timeout=10,
             what="the ten threads")
    assert bg_start(srv, "0.worker.localhost", n=1, secs=0.1)["started"] == 1


def log_rows(srv):
    r = run_gaelic("logs", srv.appdir, "--storage_path", srv.storage_path, "--json")
    assert r.returncode == 0, r
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def test_running_thread_shows_in_the_logs(srv):
    bg_start(srv, "0.worker.localhost", n=1, secs=3, tag="long")

    def running():
        rows = [row for row in log_rows(srv) if row["resource"] == "/_ah/background"]
        return rows and not rows[0]["finished"] and rows[0]["status"] == 0 and \
            [line["message"] for line in rows[0]["app_logs"]] == ["background long-0 working"]
    wait_for(running, timeout=5, what="the running thread's log")


def test_each_thread_has_its_own_request_log(srv):
    bg_start(srv, "0.worker.localhost", n=2, secs=0.2, tag="logged")
    wait_for(lambda: len(bg_status(srv, "0.worker.localhost")["done"]) == 2, timeout=10,
             what="the threads")

    def logged():
        rows = log_rows(srv)
        bg_rows = [row for row in rows if row["resource"] == "/_ah/background"]
        done = [row for row in bg_rows if row["status"] == 200]
        return len(done) == 2 and done
    rows = wait_for(logged, timeout=10, what="two finished background request logs")
    # The instance is named as in the logs of the requests it serves (the
    # one that started the threads); its backend number is the replica index.
    starter, = [row for row in log_rows(srv) if row["resource"].startswith("/bg/start?")
                and "tag=logged" in row["resource"]]
    assert starter["instance_id"] and starter["replica_index"] == 0
    names = set()
    for row in rows:
        messages = [line["message"] for line in row["app_logs"]]
        assert len(messages) == 2, messages
        names.add(messages[0].split()[1])
        assert messages[1] == "background %s done" % messages[0].split()[1]
        assert row["instance_id"] == starter["instance_id"], (row, starter)
        assert row["replica_index"] == 0
    assert names == {"logged-0", "logged-1"}


@pytest.mark.parametrize("how", ["target", "subclass"])
def test_thread_that_raises_ends_its_request_log_with_500(srv, how):
    # Whether its work is a target or its own run() method.
    get(srv, "0.worker.localhost", "/bg/fail?how=%s&tag=%s" % (how, how))

    def ended():
        for row in log_rows(srv):
            lines = [line["message"] for line in row["app_logs"]]
            if row["finished"] and lines and lines[0] == "fail " + how:
                return row
    row = wait_for(ended, timeout=30, what="the failing thread's request log")
    assert row["status"] == 500, row


def test_thread_lost_with_its_instance_says_how_it_ended(srv):
    """A background thread's request log, as any request's, says that its
    instance was lost and, once the zygote tells, how it ended."""
    get(srv, "0.worker.localhost", "/bg/crash?tag=segv")

    def ended():
        for row in log_rows(srv):
            lines = [line["message"] for line in row["app_logs"]]
            if row["finished"] and lines and lines[0] == "crash segv" and \
                    any("was killed by signal " in line for line in lines):
                return row
    row = wait_for(ended, timeout=30, what="the crashed thread's request log")
    lines = [line["message"] for line in row["app_logs"]]
    assert row["status"] == 500, row
    assert any(line.startswith("the instance serving this request was lost: ")
               for line in lines), lines


def test_thread_s_request_log_counts_its_cpu(srv):
    """RT9: a background thread's request log line says the CPU it used, in
    megacycles like any request's: at least what quota counted for it as
    it was about to end."""
    get(srv, "0.worker.localhost", "/bg/burn?tag=cpu&secs=0.2")

    def burned():
        for row in log_rows(srv):
            lines = [line["message"] for line in row["app_logs"]]
            if row["status"] == 200 and lines and lines[0].startswith("burn cpu "):
                return row, int(lines[0].split()[2])
    row, counted = wait_for(burned, timeout=30, what="the burning thread's request log")
    assert counted > 0 and row["mcycles"] >= counted, (row, counted)


def test_a_thread_it_starts_reads_its_cpu_in_quota(srv):
    """API5 as for a request: quota.get_request_cpu_usage() in a thread the
    background thread started counts the background thread's CPU, not
    the asking thread's own (which is next to nothing)."""
    get(srv, "0.worker.localhost", "/bg/child_cpu?tag=q&secs=0.2")

    def logged():
        for row in log_rows(srv):
            for line in row["app_logs"]:
                if line["message"].startswith("child_cpu q "):
                    return [int(n) for n in line["message"].split()[2:]]
    mine, child = wait_for(logged, timeout=30, what="the thread's quota figures")
    assert mine > 0 and child >= mine, (mine, child)


def test_a_threads_request_log_names_its_backend_instance(srv):
    """Its replica_index is the instance it runs on; it loaded nothing and
    waited for no instance."""
    bg_start(srv, "1.memdb.localhost", n=1, secs=0.1, tag="replica")

    def logged():
        return [row for row in log_rows(srv)
                if row["resource"] == "/_ah/background" and row["status"] == 200 and
                any("replica-0" in line["message"] for line in row["app_logs"])]
    (row,) = wait_for(logged, timeout=10, what="the thread's finished request log")
    assert row["replica_index"] == 1, row
    assert row["was_loading_request"] is False and row["pending_ms"] == 0, row


def test_background_thread_keeps_a_dynamic_instance_alive(srv):
    # crawler is dynamic; the fixture's --instance_idle_timeout is 2 s.
    bg_start(srv, "0.crawler.localhost", n=1, secs=4.5, tag="busy")
    time.sleep(3.5)
    assert listing(srv)["crawler"]["running"] == 1
    wait_for(lambda: bg_status(srv, "0.crawler.localhost")["done"] == ["busy-0"], timeout=10,
             what="the thread")
    wait_for(lambda: listing(srv)["crawler"]["running"] == 0, timeout=15, what="idle stop")


def test_background_threads_get_the_shutdown_notice(srv):
    pid = who(srv, "0.worker.localhost")["pid"]
    bg_start(srv, "0.worker.localhost", n=2, secs=60, tag="watch", until="shutdown")
    t0 = time.monotonic()
    assert backends(srv, "stop", "worker").returncode == 0
    assert srv.wait_stderr("background watch-1 saw the shutdown", timeout=10)
    assert srv.wait_stderr("background watch-0 saw the shutdown", timeout=10)
    # They ended, so the instance exits without waiting for the grace.
    assert wait_pids_gone([pid], 10) == []
    assert time.monotonic() - t0 < 10


def test_thread_started_twice_or_uninitialised_makes_no_background_request(srv):
    def background_rows():
        return [row for row in log_rows(srv) if row["resource"] == "/_ah/background"]
    before = len(background_rows())
    r = get(srv, "0.crawler.localhost", "/bg/twice")
    assert r.status_code == 200, r.text
    assert r.json() == {"again": "threads can only be started once",
                        "no_init": "thread.__init__() not called"}
    # The one thread that ran has its row; the refused starts have none
    # (they had one each, ended as failed, though no thread ever ran).
    wait_for(lambda: len(background_rows()) > before, timeout=10, what="the thread's row")
    time.sleep(0.5)
    rows = background_rows()
    assert len(rows) == before + 1, rows[:3]
    assert rows[0]["status"] == 200, rows[0]


def test_starts_and_ends_racing_keep_the_instance(srv):
    # A thread's end went to the master after its slot was free to take, so
    # a start could get there first, as an 11th thread: the master killed
    # the instance for breaking the protocol, failing its requests.
    r = get(srv, "0.crawler.localhost", "/bg/churn?n=6000&secs=8", timeout=30)
    assert r.status_code == 200, (r.status_code, srv.stderr_text()[-2000:])
    assert r.json()["started"] > 0
    assert "broke the channel protocol" not in srv.stderr_text()


def test_exception_landing_as_its_start_waits_for_the_thread(srv):
    """An exception raised in the starter from outside (the shutdown hook's)
    can land while Thread.start waits for the new thread, which runs by
    then: it propagates as it is, and the thread ends its request log once,
    as it ends. The start ended the log too (its END came twice): the
    master killed the instance for breaking the protocol."""
    host = "0.worker.localhost"
    d = get(srv, host, "/bg/interrupted?tag=landed").json()
    assert d["raised"] == "_Landed", d

    def ended():
        for row in log_rows(srv):
            lines = [line["message"] for line in row["app_logs"]]
            if row["finished"] and lines == ["landed landed done"]:
                return row
    row = wait_for(ended, timeout=10, what="the thread's request log")
    assert row["status"] == 200, row
    assert who(srv, host)["pid"] == d["pid"]
    assert "broke the channel protocol" not in srv.stderr_text()


def test_exception_landing_as_the_master_answers_its_start(srv):
    """An exception raised in the starter from outside while it waits for
    the master's answer to the start lands as that answer arrives: the
    thread does not run, and the request log the master opened for it
    ends (500), freeing its slot there too. It stayed open: the master
    counted one thread more than the instance, and took the start of the
    instance's tenth for an eleventh, killing the instance."""
    host = "0.worker.localhost"
    d = get(srv, host, "/bg/interrupted_start?tag=never").json()
    assert (d["raised"], d["started"]) == ("_Landed", 10), d
    assert who(srv, host)["pid"] == d["pid"]
    assert "broke the channel protocol" not in srv.stderr_text()
    # Its request log is complete, with nothing in it: it never ran.
    rows = wait_for(lambda: [row for row in log_rows(srv)
                             if row["resource"] == "/_ah/background" and row["status"] == 500],
                    timeout=10, what="the interrupted start's request log")
    assert len(rows) == 1 and rows[0]["finished"] and rows[0]["app_logs"] == [], rows
