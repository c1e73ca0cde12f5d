"""The Logs API (LG1): google.appengine.api.logservice's fetch (fields,
filters, paging with batch_size and offset, argument checks), flush and
autoflush making a running backend request visible, the logservice
service's own errors, reads while the log writer is busy, the loading
request, pending time and replica index, and a log database of the
previous schema."""
import contextlib
import json
import os
import signal
import sqlite3
import threading
import time

import pytest
import requests

from harness import Conn, app_path, copy_app, run_gaelic, write_app

APP = app_path("logservice")
WORKER = "worker.localhost"


@pytest.fixture(scope="module")
def srv(mserve):
    return mserve(APP)


def call(srv, path, host=None, timeout=30, **params):
    headers = {"Host": "%s:%d" % (host, srv.port)} if host else {}
    r = requests.get(srv.url.rstrip("/") + path, params=params, headers=headers, timeout=timeout)
    assert r.status_code == 200, (path, r.status_code, r.text[:300], srv.stderr_text()[-3000:])
    return r.json()


def fetch(srv, limit=0, **args):
    """logservice.fetch(**args) run by the app: the RequestLogs as dicts."""
    out = call(srv, "/fetch", args=json.dumps(args), limit=limit)
    assert "logs" in out, out
    return out["logs"]


def fetch_error(srv, **args):
    out = call(srv, "/fetch", args=json.dumps(args))
    assert "error" in out, out
    return out


def log(srv, tag, levels="1", **kw):
    return call(srv, "/log", tag=tag, levels=levels, **kw)["id"]


def by_id(logs):
    return {r["request_id"]: r for r in logs}


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            assert value, "timed out waiting for " + what
            return value
        time.sleep(0.1)


def test_fetch_newest_first_with_fields_and_app_logs(srv):
    headers = {"User-Agent": "ls-agent/1.0", "Referer": "http://example.com/from"}
    ids = []
    for i in range(3):
        r = requests.get(srv.url + "log", params={"tag": "f%d" % i, "levels": "0,3"},
                         headers=headers, timeout=15)
        assert r.status_code == 200
        ids.append((r.json()["id"], r.json()["instance"], len(r.content)))
    logs = fetch(srv, include_app_logs=True)
    got = [r["request_id"] for r in logs]
    # Newest first; the fetching request itself is still running, so not there.
    assert [i for i in got if i in {x[0] for x in ids}] == [x[0] for x in reversed(ids)]
    assert got == sorted(got, reverse=True)
    for n, (rid, instance, size) in enumerate(ids):
        r = by_id(logs)[rid]
        assert r["app_id"] == "logservice-app"
        assert r["version_id"].startswith("v1.")
        assert r["method"] == "GET" and r["http_version"] == "HTTP/1.1"
        assert r["resource"] == "/log?tag=f%d&levels=0%%2C3" % n
        assert r["status"] == 200 and r["finished"] is True
        assert r["response_size"] == size
        assert r["ip"] == "127.0.0.1" and r["nickname"] is None
        assert r["user_agent"] == "ls-agent/1.0"
        assert r["referrer"] == "http://example.com/from"
        assert r["host"] == "127.0.0.1:%d" % srv.port
        assert r["instance_key"] == instance
        # The handler that took it; the default service's.
        assert r["url_map_entry"] == "main.app"
        assert r["module_id"] == "default"
        assert r["app_engine_release"] is None
        assert time.time() - 600 < r["start_time"] <= r["end_time"] <= time.time()
        assert abs(r["latency"] - (r["end_time"] - r["start_time"])) < 1e-5
        assert r["mcycles"] >= 0
        assert r["combined"].startswith("127.0.0.1 - - [")
        assert ('"GET /log?tag=f%d&levels=0%%2C3 HTTP/1.1" 200 %d "http://example.com/from" '
                '"ls-agent/1.0"' % (n, size)) in r["combined"]
        assert r["offset_type"] == "bytes" and r["offset"]
        assert [(l[1], l[2]) for l in r["app_logs"]] == [(0, "f%d level 0" % n),
                                                         (3, "f%d level 3" % n)]
        assert r["start_time"] <= r["app_logs"][0][0] <= r["app_logs"][1][0] <= r["end_time"]
    # Without include_app_logs the lines stay out.
    assert by_id(fetch(srv))[ids[0][0]]["app_logs"] == []


def test_what_a_client_sent_as_invalid_utf8_reads_as_escapes(srv):
    """The request line and headers are stored as the client sent them,
    which need not be UTF-8; RequestLog's strings must be, or one such
    request breaks every fetch() that comes to it. Each byte that is not
    reads as \\xNN (as the runtime logs such bytes an app writes)."""
    with Conn(srv.port) as c:
        c.request("GET", "/log?tag=bad\xff", headers=[("User-Agent", "agent\xfe\xc3"),
                                                     ("Referer", "http://x/\xc3\xa9\x80")])
        resp = c.read_response()
    assert resp.status == 200, resp.body
    rid = json.loads(resp.body)["id"]
    r = fetch(srv, request_ids=[rid])[0]
    assert r["resource"] == "/log?tag=bad\\xff"
    assert r["user_agent"] == "agent\\xfe\\xc3"
    assert r["referrer"] == "http://x/\u00e9\\x80"
    assert '"GET /log?tag=bad\\xff HTTP/1.1"' in r["combined"]
    assert rid in by_id(fetch(srv, include_app_logs=True, batch_size=1000))


def test_minimum_log_level(srv):
    quiet = log(srv, "quiet", levels="0,1")
    loud = log(srv, "loud", levels="1,3")
    for level, want_quiet in ((0, True), (1, True), (2, False), (3, False), (4, False)):
        got = by_id(fetch(srv, minimum_log_level=level, batch_size=1000))
        assert (quiet in got) == want_quiet, level
        assert (loud in got) == (level <= 3), level
    # Every line of a request that qualifies comes back, not only the loud one.
    r = by_id(fetch(srv, minimum_log_level=3, include_app_logs=True))[loud]
    assert [l[1] for l in r["app_logs"]] == [1, 3]


def test_start_and_end_time_bound_the_end_time(srv):
    t0 = time.time()
    time.sleep(0.05)
    rid = log(srv, "timed")
    time.sleep(0.05)
    t1 = time.time()
    r = by_id(fetch(srv))[rid]
    assert t0 <= r["end_time"] <= t1
    assert rid in by_id(fetch(srv, start_time=t0, end_time=t1))
    assert rid in by_id(fetch(srv, start_time=int(t0), end_time=int(t1) + 1))
    assert rid not in by_id(fetch(srv, end_time=t0))
    assert rid not in by_id(fetch(srv, start_time=t1))
    # end_time is exclusive, start_time inclusive.
    assert rid in by_id(fetch(srv, start_time=r["end_time"]))
    assert rid not in by_id(fetch(srv, end_time=r["end_time"] - 1e-6))
    assert all(t0 <= x["end_time"] < t1 for x in fetch(srv, start_time=t0, end_time=t1))


def test_version_ids(srv):
    rid = log(srv, "versioned")
    assert rid in by_id(fetch(srv, version_ids=["v1"]))
    assert rid in by_id(fetch(srv, version_ids=["other", "v1"]))
    assert rid in by_id(fetch(srv, version_ids=["default:v1"]))
    assert fetch(srv, version_ids=["other"]) == []
    # No version at all is a request the service refuses.
    assert fetch_error(srv, version_ids=[])["error"] == "InvalidArgumentError"
    assert fetch(srv, version_ids=["othermodule:v1"]) == []


def test_a_service_reads_its_own_request_logs(serve, tmp_path):
    """An app.yaml with service: stores its requests as that service's:
    fetch() reads this version of this service by default, a version_id
    alone names the default service's, and "service:version" or
    module_versions name its own. gaelic logs --version takes app.yaml's
    service too."""
    d = copy_app("logservice", tmp_path / "api",
                 lambda t: t.replace("version: v1", "service: api\nversion: v1"))
    s = serve(d)
    rid = log(s, "in-api")
    r = by_id(fetch(s))[rid]
    assert r["module_id"] == "api" and r["url_map_entry"] == "main.app"
    assert fetch(s, version_ids=["v1"]) == []
    assert rid in by_id(fetch(s, version_ids=["api:v1"]))
    assert rid in by_id(fetch(s, module_versions=[("api", "v1")]))
    assert fetch(s, module_versions=[("default", "v1")]) == []
    out = s.logs("--json", "--version", "v1").stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert rid in {x["request_id"] for x in rows}
    assert {x["module_id"] for x in rows} == {"api"}


def test_url_map_entry_names_the_handler(serve, tmp_path):
    """RequestLog.url_map_entry: the script a request ran (after the url's
    groups are put in), the static file it got, nothing for a 404 no
    handler took."""
    d = write_app(tmp_path / "mapped", "application: mapped\nversion: v1\nruntime: python27\n"
                  "threadsafe: true\nhandlers:\n"
                  "- url: /css\n  static_dir: assets\n"
                  "- url: /(main|other)/.*\n  script: \\1.app\n",
                  {"assets/site.css": "body{}",
                   "main.py": LOGS_MAIN, "other.py": LOGS_MAIN})
    s = serve(d)
    main_id = s.get_json("/main/x")["id"]
    other_id = s.get_json("/other/y")["id"]
    assert s.get("/css/site.css").status_code == 200
    assert s.get("/nowhere").status_code == 404
    rows = {}
    def all_there():
        out = s.logs("--json").stdout
        rows.update((x["resource"], x) for x in map(json.loads, out.splitlines()))
        return {"/main/x", "/other/y", "/css/site.css", "/nowhere"} <= set(rows)
    wait_for(all_there, what="the four rows")
    assert rows["/main/x"]["url_map_entry"] == "main.app"
    assert rows["/other/y"]["url_map_entry"] == "other.app"
    assert rows["/css/site.css"]["url_map_entry"] == "assets/site.css"
    assert rows["/nowhere"]["url_map_entry"] == ""
    got = by_id(s.get_json("/main/fetch")["logs"])
    assert got[main_id]["url_map_entry"] == "main.app"
    assert got[other_id]["url_map_entry"] == "other.app"


LOGS_MAIN = """\
import json
import os

from google.appengine.api import logservice


def app(environ, start_response):
    out = {"id": os.environ["REQUEST_LOG_ID"]}
    if environ["PATH_INFO"].endswith("/fetch"):
        out["logs"] = [{"request_id": r.request_id, "url_map_entry": r.url_map_entry}
                       for r in logservice.fetch()]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(out).encode()]
"""


def test_request_ids_in_the_order_asked(srv):
    a, b, c = log(srv, "ra"), log(srv, "rb"), log(srv, "rc")
    got = fetch(srv, request_ids=[a, c, "00ff00ff00ff00ff00000000", b])
    assert [r["request_id"] for r in got] == [a, c, b]
    assert [r["request_id"] for r in fetch(srv, request_ids=[b])] == [b]
    # Hex in capitals names the same request.
    assert [r["request_id"] for r in fetch(srv, request_ids=[b.upper()])] == [b]
    # Not combinable with a time range, an offset or a minimum level.
    offset = fetch(srv, request_ids=[c])[0]["offset"]
    for extra in ({"start_time": 1}, {"end_time": time.time()}, {"minimum_log_level": 1},
                  {"offset": offset}):
        e = fetch_error(srv, request_ids=[a, c], **extra)
        assert e["error"] == "InvalidArgumentError" and "request_id" in e["message"], e


def test_request_ids_past_the_response_budget(srv):
    """A list of request ids goes on in the next Read once a response
    passes its 4 MB: the big request's lines are cut there (it says so),
    the next one's come whole with the next batch."""
    big = call(srv, "/burst", n=140, size=31000)["id"]
    small = log(srv, "after-big", levels="1,3")
    logs = fetch(srv, request_ids=[big, small], include_app_logs=True)
    assert [r["request_id"] for r in logs] == [big, small]
    assert logs[0]["lines_incomplete"] and 0 < len(logs[0]["app_logs"]) < 140
    assert not logs[1]["lines_incomplete"]
    assert [(l[1], l[2]) for l in logs[1]["app_logs"]] == [(1, "after-big level 1"),
                                                           (3, "after-big level 3")]


def test_paging_with_batch_size_and_offset(srv):
    ids = [log(srv, "page%d" % i) for i in range(7)]
    # Every fetch is a request too: end_time keeps the list still.
    until = time.time()
    mine = set(ids)
    # batch_size 2 takes several Read calls; the iterator goes on by itself.
    every = [r["request_id"] for r in fetch(srv, batch_size=2, end_time=until)]
    assert [i for i in every if i in mine] == list(reversed(ids))
    assert every[:7] == list(reversed(ids))
    assert every == [r["request_id"] for r in fetch(srv, batch_size=1000, end_time=until)]
    first = fetch(srv, batch_size=3, limit=3, end_time=until)
    rest = fetch(srv, offset=first[-1]["offset"], batch_size=3, limit=4, end_time=until)
    assert [r["request_id"] for r in first + rest] == every[:7]
    # Each offset resumes right after its own request.
    for i in range(1, 4):
        nxt = fetch(srv, offset=first[i - 1]["offset"], limit=1, end_time=until)
        assert nxt[0]["request_id"] == every[i]
    # Past the oldest request: nothing.
    oldest = fetch(srv, batch_size=1000, end_time=until)[-1]
    assert fetch(srv, offset=oldest["offset"], end_time=until) == []


def test_offsets_are_bytes_as_app_engine_gave_them(srv):
    for i in range(3):
        log(srv, "bytes%d" % i)
    out = call(srv, "/offsets", until=time.time())
    # App Engine's offset was a byte string (a serialized LogOffset): its
    # documented paging base64-encoded it into the next page's URL.
    assert out["type"] == "bytes", out
    assert out["after_bytes"] == out["second"] and out["after_text"] == out["second"], out
    assert out["timeout_offset_is_it"], out


def test_module_versions_pairs_as_lists_or_tuples(srv):
    log(srv, "mv")
    out = call(srv, "/module_versions")
    # Lists or tuples, repeated pairs once, the SDK's older name, and an
    # empty list beside version_ids, as App Engine took them.
    assert all(isinstance(n, int) and n > 0 for n in out.values()), out


def test_the_sdk_log_buffer_functions(srv):
    out = call(srv, "/buffer")
    assert out["start_lines"] == 0, out
    assert out["lines"] == 4 and out["bytes"] > 0 and out["age_ok"], out
    assert out["after_flush"] == [0, 0] and out["flush_time_ok"], out
    assert out["after_clear"] == 0, out
    got = fetch(srv, request_ids=[out["id"]], include_app_logs=True)
    assert [(l[1], l[2]) for l in got[0]["app_logs"]] == [
        (3, "written one"), (1, "written\ntwo"), (2, "a record"), (3, "bad level"),
        (1, "after flush")], got


def test_flush_after_cancel_api_calls_keeps_the_request_going(serve):
    # App Engine's advice for shutdown hooks is CancelApiCalls(); its
    # flush() then kept the lines for the request's final log instead of
    # raising CancelledError into the request.
    srv = serve(APP)
    out = call(srv, "/cancelled_flush")
    assert out == {"flushed": True}, out
    rows, text = srv.wait_new_log_rows("/cancelled_flush", set(), lambda rows: rows)
    assert [l["message"] for l in rows[0]["app_logs"]] == ["logged after the cancel"], text


@pytest.mark.parametrize("args, message", [
    ({"batch_size": 0}, "batch_size must be greater than zero"),
    ({"batch_size": 1001}, "batch_size specified is too large"),
    ({"batch_size": "5"}, "batch_size must be an integer"),
    ({"start_time": "yesterday"}, "start_time must be a float or integer"),
    ({"end_time": [1]}, "end_time must be a float or integer"),
    ({"start_time": 1e20}, "start_time is out of range"),
    ({"end_time": -2 ** 63}, "end_time is out of range"),
    ({"minimum_log_level": 5}, "minimum_log_level must be between 0 and 4"),
    ({"minimum_log_level": -1}, "minimum_log_level must be between 0 and 4"),
    ({"minimum_log_level": "error"}, "minimum_log_level must be an int"),
    ({"include_incomplete": 1}, "include_incomplete must be a boolean"),
    ({"include_app_logs": "yes"}, "include_app_logs must be a boolean"),
    ({"version_ids": "v1"}, "version_ids must be a list"),
    ({"version_ids": ["V1.2"]}, "version_ids must only contain valid major version"),
    ({"module_versions": [["default"]]}, "module_versions must be a list of"),
    ({"module_versions": [["default", "v1"]], "version_ids": ["v1"]}, "cannot both be given"),
    ({"request_ids": "abc"}, "request_ids must be a list"),
    ({"request_ids": ["not-hex"]}, "request_ids must only contain valid request ids"),
    ({"request_ids": []}, "request_ids must not be empty"),
    ({"request_ids": ["00ab", "00AB"]}, "request_ids must not contain duplicates"),
    ({"offset": "not an offset"}, "offset must be a string"),
    ({"offset": 12}, "offset must be a string"),
    ({"colour": "blue"}, "Invalid arguments: colour"),
])
def test_invalid_arguments(srv, args, message):
    e = fetch_error(srv, **args)
    assert e["error"] == "InvalidArgumentError" and message in e["message"], e


def test_service_errors(srv):
    # Read without any version or request id, as the SDK's dev server.
    r = call(srv, "/raw/read_no_version")
    assert r["error"] == "ApplicationError" and r["code"] == 1, r
    r = call(srv, "/raw/read_other_app")
    assert r["error"] == "ApplicationError" and r["code"] == 1, r
    assert call(srv, "/raw/set_status")["error"] == "CapabilityDisabledError"
    assert call(srv, "/raw/usage")["error"] == "CapabilityDisabledError"
    r = call(srv, "/raw/flush_bad")
    assert r["error"] == "ApplicationError" and r["code"] == 1, r


def test_flush_stores_the_lines_it_carries(srv):
    rid = call(srv, "/raw/flush_lines")["id"]
    r = fetch(srv, request_ids=[rid], include_app_logs=True)[0]
    assert [(l[1], l[2]) for l in r["app_logs"]] == [(3, "carried one"), (0, "carried two")]
    assert r["finished"]


def test_a_line_past_64_kib_is_stored_cut(srv):
    """The master cuts an app line at 64 KiB (before a character), however
    it came: a Flush carrying a line of megabytes made every Read of it
    that large (four times that for bytes that are not UTF-8)."""
    out = call(srv, "/raw/flush_big", n=400000)  # 1.2 MB of euro signs
    assert out["ok"], out
    message = fetch(srv, request_ids=[out["id"]], include_app_logs=True)[0]["app_logs"][0][2]
    assert message == "\u20ac" * (64 * 1024 // 3) + "... (truncated)"


@contextlib.contextmanager
def long_request(srv, tag, mode, lines):
    """Runs /long on the worker backend in a thread while the block runs;
    yields finish(), which lets it end and returns its request id. It is
    let go whatever happens."""
    box = {}

    def run():
        box["answer"] = call(srv, "/long", host=WORKER, timeout=60, tag=tag, mode=mode,
                             lines=lines)

    def finish():
        call(srv, "/release", host=WORKER, tag=tag)
        t.join(30)
        assert box["answer"]["released"], box
        return box["answer"]["id"]
    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        yield finish
    finally:
        if t.is_alive():
            requests.get(srv.url + "release", params={"tag": tag},
                         headers={"Host": "%s:%d" % (WORKER, srv.port)}, timeout=15)
            t.join(30)


def running(srv, tag, **args):
    """The unfinished request log of /long?tag=TAG, or None: of the default
    version or the worker backend (whose logs are under its own name)."""
    args.setdefault("version_ids", ["v1", "worker"])
    for r in fetch(srv, include_incomplete=True, include_app_logs=True, batch_size=1000, **args):
        if r["resource"].startswith("/long?tag=%s&" % tag) and not r["finished"]:
            return r
    return None


def test_flush_shows_a_running_backend_request(srv):
    before = time.time()
    with long_request(srv, "flushed", "flush", 3) as finish:
        r = wait_for(lambda: running(srv, "flushed"), what="the flushed request")
        # flush() was called after the three lines, which are all there.
        assert r["finished"] is False and r["status"] == 0 and r["end_time"] == 0.0
        assert before - 1 <= r["start_time"] <= time.time()
        assert r["host"] == "%s:%d" % (WORKER, srv.port)
        assert r["method"] == "GET" and r["ip"] == "127.0.0.1" and r["instance_key"]
        assert [l[2] for l in r["app_logs"]] == ["flushed line 0", "flushed line 1",
                                                 "flushed line 2"]
        # Not without include_incomplete.
        assert not [x for x in fetch(srv, batch_size=1000, version_ids=["worker"])
                    if x["request_id"] == r["request_id"]]
        # By id it is there whatever its state.
        assert fetch(srv, request_ids=[r["request_id"]])[0]["finished"] is False
        rid = finish()
    assert rid == r["request_id"]
    done = fetch(srv, request_ids=[rid], include_app_logs=True)
    assert len(done) == 1 and done[0]["finished"] and done[0]["status"] == 200
    assert done[0]["start_time"] == r["start_time"]
    assert done[0]["app_logs"][-1][2] == "flushed done"
    # One row per request, finished or not.
    assert [x["request_id"] for x in fetch(srv, include_incomplete=True, batch_size=1000,
                                           version_ids=["worker"])].count(rid) == 1


def test_autoflush_after_50_lines(srv):
    with long_request(srv, "many", "none", 55), long_request(srv, "few", "none", 5) as few:
        r = wait_for(lambda: running(srv, "many"), what="the autoflushed request")
        # It flushed at its 50th line; the five after it follow.
        assert r["finished"] is False and len(r["app_logs"]) >= 50
        wait_for(lambda: len(running(srv, "many")["app_logs"]) == 55, what="all 55 lines")
        # Five lines are under every threshold: still invisible.
        time.sleep(0.3)
        assert running(srv, "few") is None
        rid = few()
    assert fetch(srv, request_ids=[rid])[0]["finished"]


def test_autoflush_threshold_set_by_the_app(srv):
    call(srv, "/raw/autoflush_lines", host=WORKER, n=4)
    try:
        with long_request(srv, "four", "none", 5):
            r = wait_for(lambda: running(srv, "four"), what="the request flushed after 4 lines")
            assert len(r["app_logs"]) >= 4
    finally:
        call(srv, "/raw/autoflush_lines", host=WORKER, n=50)


def test_reads_while_the_writer_is_busy(srv):
    box = {}

    def burst():
        box["id"] = call(srv, "/burst", host=WORKER, timeout=60, n=20000)["id"]
    t = threading.Thread(target=burst, daemon=True)
    t.start()
    seen = []
    while t.is_alive() or not seen:
        out = call(srv, "/fetch", args=json.dumps({"include_incomplete": True, "batch_size": 5}))
        assert "logs" in out and out["seconds"] < 10, out
        seen.append(len(out["logs"]))
        # The server still answers other requests meanwhile.
        assert requests.get(srv.url + "log?tag=ping", timeout=15).status_code == 200
    t.join(60)
    r = fetch(srv, request_ids=[box["id"]], include_app_logs=True)[0]
    assert len(r["app_logs"]) == 20000 and not r["lines_incomplete"]
    assert [l[2] for l in r["app_logs"][:2]] == ["burst line 0", "burst line 1"]
    assert r["app_logs"][-1][2] == "burst line 19999"


def test_flush_in_a_backend_start_request(srv):
    # The starter backend is dynamic: this request starts its instance,
    # whose /_ah/start logs, flushes and runs until we log "release-starter".
    box = {}

    def first():
        box["answer"] = call(srv, "/log", host="starter.localhost", timeout=60, tag="after")
    t = threading.Thread(target=first, daemon=True)
    t.start()

    def start_row():
        for r in fetch(srv, include_incomplete=True, include_app_logs=True, batch_size=1000,
                       version_ids=["starter"]):
            if r["resource"] == "/_ah/start" and r["host"].startswith("0.starter."):
                return r
    r = wait_for(start_row, what="the running start request")
    assert r["finished"] is False and r["status"] == 0
    assert [l[2] for l in r["app_logs"]] == ["starter begins"]
    log(srv, "release-starter")
    t.join(30)
    assert "id" in box["answer"]
    done = fetch(srv, request_ids=[r["request_id"]], include_app_logs=True)[0]
    assert done["finished"] and done["status"] == 200
    assert [l[2] for l in done["app_logs"]] == ["starter begins", "starter ends"]


def test_a_request_running_when_the_server_died_is_ended_by_the_next(serve, tmp_path):
    """A flushed request is stored unfinished until its final row replaces
    it. A server killed meanwhile (SIGKILL, the OOM killer) never writes
    that row, and its instances die with it: the next server on the same
    storage ends the request (500, at its last line), or it would read as
    running for good."""
    storage = str(tmp_path / "store")
    s1 = serve(APP, "--storage_path", storage, storage=False)
    s1.storage_path = storage

    def long():
        with contextlib.suppress(requests.RequestException):  # the server dies first
            requests.get(s1.url + "long", params={"tag": "died", "mode": "flush", "lines": 2},
                         timeout=60)
    t = threading.Thread(target=long, daemon=True)
    t.start()
    r = wait_for(lambda: running(s1, "died"), what="the flushed request")
    s1.stop(signal.SIGKILL)
    t.join(30)
    s2 = serve(APP, "--storage_path", storage, storage=False)
    s2.storage_path = storage
    ended = fetch(s2, request_ids=[r["request_id"]], include_app_logs=True)
    assert len(ended) == 1 and ended[0]["finished"] is True, ended
    assert ended[0]["status"] == 500
    assert [l[2] for l in ended[0]["app_logs"]] == ["died line 0", "died line 1"]
    assert ended[0]["end_time"] == ended[0]["app_logs"][-1][0]
    assert ended[0]["latency"] > 0
    assert running(s2, "died") is None
    rows, out = s2.log_rows(r["resource"])
    assert rows[r["request_id"]]["finished"] is True, out


def test_a_second_server_refused_on_the_same_storage_ends_none_of_the_firsts_requests(
        serve, tmp_path):
    """A second server on the storage a live one owns is refused (its
    control socket answers). Before it found that out, it had already
    ended the first server's running requests in their shared log
    database, as if that server had died."""
    storage = str(tmp_path / "store")
    s1 = serve(APP, "--storage_path", storage, storage=False)
    s1.storage_path = storage
    t = threading.Thread(target=lambda: requests.get(
        s1.url + "long", params={"tag": "alive", "mode": "flush", "lines": 1}, timeout=60),
        daemon=True)
    t.start()
    r = wait_for(lambda: running(s1, "alive"), what="the flushed request")
    second = run_gaelic("serve", APP, "--port", "0", "--storage_path", storage, timeout=60)
    assert second.returncode != 0, second
    assert "another gaelic server is running" in second.stderr, second.stderr
    assert running(s1, "alive") is not None, fetch(s1, request_ids=[r["request_id"]])
    requests.get(s1.url + "release", params={"tag": "alive"}, timeout=10)
    t.join(30)


# One request at a time on one instance (threadsafe: false, and the tests
# give --max_instances 1): /hold keeps it busy until the test creates the
# file `release` in the app folder.
SINGLE_YAML = """application: logfields-app
version: v1
runtime: python27
api_version: 1
threadsafe: false

handlers:
- url: /static
  static_dir: static
- url: /.*
  script: main.app
"""

SINGLE_MAIN = """
import json
import os
import time

from google.appengine.api import logservice

HERE = os.path.dirname(os.path.abspath(__file__))


def app(environ, start_response):
    path = environ["PATH_INFO"]
    out = {"id": os.environ["REQUEST_LOG_ID"]}
    if path == "/hold":
        logservice.flush()  # its row shows it running
        end = time.monotonic() + 30
        while time.monotonic() < end and not os.path.exists(os.path.join(HERE, "release")):
            time.sleep(0.02)
    elif path == "/fields":
        ids = environ["QUERY_STRING"].split(",")
        out = {r.request_id: {"resource": r.resource,
                              "latency": r.latency,
                              "was_loading_request": r.was_loading_request,
                              "pending_time": r.pending_time,
                              "replica_index": r.replica_index}
               for r in logservice.fetch(request_ids=ids)}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(out).encode()]
"""


def single_app(tmp_path):
    return write_app(tmp_path / "single", SINGLE_YAML,
                     {"main.py": SINGLE_MAIN, "static/file.txt": "static\n"})


def fields(srv, *ids):
    """The loading, pending and replica fields of those requests, read
    through logservice.fetch by the app."""
    r = srv.get("/fields?" + ",".join(ids), timeout=30)
    assert r.status_code == 200, (r.status_code, r.text[:300], srv.stderr_text()[-3000:])
    return r.json()


def test_the_first_request_of_an_instance_is_its_loading_request(serve, tmp_path):
    s = serve(single_app(tmp_path), "--max_instances", "1")
    # A static file comes from the master: no instance loads for it.
    assert s.get("/static/file.txt").status_code == 200
    (static,) = wait_for(lambda: s.log_rows("/static/file.txt")[0], what="the static row")
    first = s.get_json("/hello?first")["id"]
    second = s.get_json("/hello?second")["id"]
    got = fields(s, static, first, second)
    assert got[first]["was_loading_request"] is True
    assert got[second]["was_loading_request"] is False
    for rid in (first, second):
        assert got[rid]["replica_index"] is None  # the default version
        assert got[rid]["pending_time"] >= 0
    assert got[static]["was_loading_request"] is False
    assert got[static]["pending_time"] == 0 and got[static]["replica_index"] is None


def test_pending_time_of_a_request_that_waited_for_the_instance(serve, tmp_path):
    """With its one single-threaded instance busy, a request waits in the
    master: its pending time is that wait, in seconds; one sent to a free
    instance waits less."""
    d = single_app(tmp_path)
    s = serve(d, "--max_instances", "1")
    s.get_json("/hello?warm")
    box = {}

    def send(name, path):
        box[name] = s.get(path, timeout=60)
    hold = threading.Thread(target=send, args=("hold", "/hold?a"), daemon=True)
    queued = threading.Thread(target=send, args=("queued", "/hello?queued"), daemon=True)
    hold.start()
    try:
        wait_for(lambda: "/hold?a" in s.logs().stdout, what="/hold running")
        queued.start()
        time.sleep(1.0)  # it reaches the master and waits for the instance
    finally:
        with open(os.path.join(d, "release"), "w"):
            pass
        hold.join(60)
    queued.join(60)
    assert box["hold"].status_code == 200 and box["queued"].status_code == 200, box
    waited = box["queued"].json()["id"]
    at_once = s.get_json("/hello?at_once")["id"]
    got = fields(s, waited, at_once)
    assert got[waited]["pending_time"] > 0, got
    assert got[waited]["pending_time"] <= got[waited]["latency"], got
    assert 0 <= got[at_once]["pending_time"] < got[waited]["pending_time"], got
    assert got[waited]["was_loading_request"] is False


def test_a_backend_is_a_version_of_its_own(srv):
    """App Engine ran each backend as a version named after it: its
    instances' CURRENT_VERSION_ID is NAME.MINOR (the deployment's minor
    number), and its request logs are under NAME, which fetch() reads by
    default when a backend calls it."""
    begin = time.time()
    default = call(srv, "/log", tag="own-version-default")
    worker = call(srv, "/log", host=WORKER, tag="own-version-worker")
    major, minor = default["version"].split(".")
    assert major == "v1" and worker["version"] == "worker." + minor
    ids = {default["id"]: "v1." + minor, worker["id"]: "worker." + minor}
    got = by_id(fetch(srv, request_ids=list(ids)))
    assert {i: r["version_id"] for i, r in got.items()} == ids
    # Each version's own calls see its own logs.
    mine = {r["request_id"] for r in fetch(srv, start_time=begin, batch_size=1000)}
    assert default["id"] in mine and worker["id"] not in mine
    out = call(srv, "/fetch", host=WORKER, args=json.dumps({"start_time": begin}))
    theirs = {r["request_id"] for r in out["logs"]}
    assert worker["id"] in theirs and default["id"] not in theirs
    # And any version's, by name.
    both = {r["request_id"] for r in fetch(srv, start_time=begin, batch_size=1000,
                                           version_ids=["v1", "worker"])}
    assert set(ids) <= both
    # The backend's start request is under its name too.
    starts = [r for r in fetch(srv, batch_size=1000, version_ids=["worker"])
              if r["resource"] == "/_ah/start"]
    assert starts and all(r["version_id"] == "worker." + minor for r in starts)
    # `gaelic logs --version` reads one version's, as appcfg's request_logs did.
    for version, want in (("worker", worker), ("v1", default), ("worker." + minor, worker)):
        out = srv.logs("--json", "--limit", "0", "--version", version).stdout
        rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        got = {row["request_id"] for row in rows}
        assert want["id"] in got and not got & (set(ids) - {want["id"]}), (version, out[-2000:])
        assert all(row["version_id"].startswith(version.split(".")[0] + ".") for row in rows)
    assert srv.logs("--version", "nothing").stdout == ""


def test_a_refused_request_for_a_backend_is_logged_under_its_name(srv):
    """A body over the limit is refused (413) before the request is routed:
    its log row is still the backend's the Host named."""
    r = requests.post(srv.url + "too-big", data=b"",
                      headers={"Host": "%s:%d" % (WORKER, srv.port),
                               "Content-Length": str(64 << 20)}, timeout=30)
    assert r.status_code == 413
    rows = wait_for(lambda: [row for row in (
        json.loads(line) for line in srv.logs("--json", "--limit", "0", "--version", "worker")
        .stdout.splitlines() if line.startswith("{")) if row["resource"] == "/too-big"],
        what="the 413's log row")
    assert [row["status"] for row in rows] == [413]
    assert rows[0]["version_id"].startswith("worker.")


def test_replica_index_of_a_backend_request(srv):
    """A backend's request logs name the instance that served it; its
    start request was that instance's loading request."""
    begin = time.time()
    one = call(srv, "/log", host="1.pair.localhost", timeout=60, tag="replica1")
    assert one["instance"] == "1"
    zero = call(srv, "/log", host=WORKER, tag="replica0")
    default = log(srv, "replica-default")
    got = by_id(fetch(srv, request_ids=[one["id"], zero["id"], default]))
    assert got[one["id"]]["replica_index"] == 1
    assert got[one["id"]]["was_loading_request"] is False
    assert got[zero["id"]]["replica_index"] == 0
    assert got[default]["replica_index"] is None
    starts = [r for r in fetch(srv, start_time=begin, batch_size=1000, version_ids=["pair"])
              if r["resource"] == "/_ah/start" and r["host"].startswith("1.pair.")]
    assert len(starts) == 1, starts
    assert starts[0]["replica_index"] == 1 and starts[0]["was_loading_request"] is True
    # `gaelic logs --json` says the same.
    rows, out = srv.log_rows("/log?tag=replica1")
    row = rows[one["id"]]
    assert row["replica_index"] == 1 and row["was_loading_request"] is False, out
    rows, out = srv.log_rows("/log?tag=replica-default&levels=1")
    assert rows[default]["replica_index"] is None, out


# The request log schema before was_loading, pending_us and replica_index
# (PRAGMA user_version 1).
SCHEMA_1 = """
PRAGMA journal_mode=WAL;
CREATE TABLE request_logs(
 request_id TEXT PRIMARY KEY, version_id TEXT, start_us INTEGER, end_us INTEGER,
 ip TEXT, nickname TEXT, method TEXT, resource TEXT, http_version TEXT,
 status INTEGER, response_size INTEGER, referrer TEXT, user_agent TEXT, host TEXT,
 mcycles INTEGER, instance_id TEXT) WITHOUT ROWID;
CREATE TABLE app_logs(
 request_id TEXT NOT NULL, time_us INTEGER NOT NULL, level INTEGER NOT NULL,
 message TEXT NOT NULL);
CREATE INDEX app_logs_by_request ON app_logs(request_id, time_us);
PRAGMA user_version=1;
"""


def test_a_log_database_of_the_previous_schema_is_read_and_kept(serve, tmp_path):
    """Logs stored before the loading, pending and replica fields existed
    read with their defaults, from `gaelic logs` before a server opened
    the database and through the Logs API after it added them."""
    storage = tmp_path / "store"
    storage.mkdir()
    start = int((time.time() - 60) * 1e6)
    old = "%016x%08x" % (start, 1)
    db = sqlite3.connect(str(storage / "logs.db"))
    try:
        db.executescript(SCHEMA_1)
        db.execute("INSERT INTO request_logs VALUES (?, 'v1.1', ?, ?, '127.0.0.1', NULL, 'GET', "
                   "'/old', 'HTTP/1.1', 200, 5, NULL, 'old-agent', 'localhost', 7, 'abc')",
                   (old, start, start + 1000))
        db.execute("INSERT INTO app_logs VALUES (?, ?, 1, 'an old line')", (old, start + 10))
        db.commit()
    finally:
        db.close()
    out = run_logs(APP, "--storage_path", str(storage), "--json")
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["request_id"] == old and row["resource"] == "/old"
    assert row["was_loading_request"] is False and row["pending_ms"] == 0
    assert row["replica_index"] is None
    s = serve(APP, "--storage_path", str(storage), storage=False)
    s.storage_path = str(storage)
    r = fetch(s, request_ids=[old], include_app_logs=True)[0]
    assert r["resource"] == "/old" and r["user_agent"] == "old-agent" and r["mcycles"] == 7
    assert [l[2] for l in r["app_logs"]] == ["an old line"]
    assert r["was_loading_request"] is False and r["pending_time"] == 0
    assert r["replica_index"] is None
    assert r["module_id"] == "default" and r["url_map_entry"] == ""
    new = log(s, "after-migration")
    assert fetch(s, request_ids=[new])[0]["replica_index"] is None
    db = sqlite3.connect("file:%s?mode=ro" % (storage / "logs.db"), uri=True)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 3
        columns = {c[1] for c in db.execute("PRAGMA table_info(request_logs)")}
        assert {"was_loading", "pending_us", "replica_index", "module_id",
                "url_map_entry"} <= columns
    finally:
        db.close()


def run_logs(appdir, *args):
    p = run_gaelic("logs", appdir, *args)
    assert p.returncode == 0, p.stderr
    return p.stdout
