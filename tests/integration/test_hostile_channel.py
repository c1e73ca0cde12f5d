"""An instance that writes whatever it likes to its channel (src/ipc.h):
the master treats every frame as untrusted. A frame that breaks the rules
kills only that instance; the master keeps serving, never answers a client
twice, never passes on a response that would split or desync the client's
connection, and leaks nothing over hundreds of such instances.

The app (apps/hostile_channel) writes forged frames with os.write on its
channel socket, which the sandbox allows.
"""
import os
import re
import sqlite3
import threading
import time

import pytest
import requests

from harness import GAELIC_BIN, Conn, app_path, copy_app

APP = app_path("hostile_channel")
TEST_SERVICE = "--api_test_service"
UNDER_ASAN = "asan" in os.path.basename(os.path.dirname(GAELIC_BIN))

BROKE = "broke the channel protocol"
# An instance that exits at once after its frames: the master sees its
# channel end or the zygote's word of its exit first, whichever comes
# first, and says so.
EXITED = ("the instance exited unexpectedly", "the instance exited with status")
MALFORMED = "malformed response from the instance"
NOT_GIVEN = "it was not given"

# case -> what the master logs when it kills the instance
KILLED = {
    "oversize": "it sent an oversized frame",
    "oversize_max_u32": "it sent an oversized frame",
    "split_header_exit": EXITED,
    "split_payload_exit": EXITED,
    "huge_frame_exit": EXITED,
    "type_0": BROKE,
    "type_99": BROKE,
    "type_0xffff": BROKE,
    "type_request": BROKE,
    "type_shutdown": BROKE,
    "type_deadline": BROKE,
    "type_api_result": BROKE,
    "type_api_cpu": BROKE,
    "response_flags": BROKE,
    "log_flags": BROKE,
    "ready_flags": BROKE,
    "ready_payload": BROKE,
    "ready_id": BROKE,
    "bg_start_flags": BROKE,
    "retire_flags": BROKE,
    "response_unknown_id": NOT_GIVEN,
    "response_id_0": NOT_GIVEN,
    "response_background_id": NOT_GIVEN,
    "response_empty": MALFORMED,
    "response_n_headers_huge": MALFORMED,
    "response_truncated": MALFORMED,
    "response_status_len_overflow": MALFORMED,
    "response_header_len_overflow": MALFORMED,
    "response_body_len_overflow": MALFORMED,
    "response_trailing_bytes": MALFORMED,
    "response_cpu_over_max": MALFORMED,
    "response_cpu_u32": MALFORMED,
}

# /bad_many kinds: valid frames first, then one that breaks a rule
BAD_MANY = {
    "bg_over_max": BROKE,
    "bg_end_unknown": BROKE,
    "bg_start_twice": BROKE,
    "bg_start_no_bit": BROKE,
    "bg_start_payload": BROKE,
    "bg_stop_not_stopping": BROKE,
    "bg_end_failed_2": BROKE,
    "bg_end_cpu_over_max": BROKE,
    "bg_end_cpu_u32": BROKE,
    "api_reused_id": "API call id already in use",
    "api_id_0": "API call with id 0",
    "api_flood": "more than 100 concurrent API calls",
    "log_level_huge": BROKE,
    "log_level_5": BROKE,
    "log_truncated": BROKE,
    "retire_id": BROKE,
    "retire_long": BROKE,
}

# The app's own response, invalid as HTTP: the client gets a 500 instead.
INVALID_RESPONSE = [
    "status_short", "status_long", "status_no_space", "status_no_reason", "status_empty",
    "status_letters", "status_1xx", "status_999", "status_crlf", "status_lf", "status_nul",
    "header_value_crlf", "header_value_lf", "header_value_cr", "header_value_nul",
    "header_name_crlf", "header_name_colon", "header_name_space", "header_name_nul",
    "header_name_empty", "header_body_split",
]

DESYNC = [
    "content_length_short", "content_length_long", "content_length_two", "content_length_junk",
    "transfer_encoding", "transfer_encoding_cl", "connection_close", "connection_upgrade",
    "keep_alive", "trailer",
]
BODY = b"the forged body, 32 bytes long.."


@pytest.fixture(scope="module")
def srv(mserve):
    return mserve(APP, TEST_SERVICE, "--threads", "2", "--max_instances", "2")



# The backend the app's background-thread frames go to (backends.yaml):
# the master refuses them from the default version's instances (BG2).
BACKEND_HOST = "0.hostile.localhost"


def on_backend(path):
    """Whether path sends background-thread frames."""
    return "=bg_" in path or path.startswith(("/bg_cpu", "/stop_reading",
                                              "/repeat?kind=background&"))


def backend_get(srv, path, **kw):
    return srv.get(path, headers={"Host": "%s:%d" % (BACKEND_HOST, srv.port)}, **kw)


def hostile_get(srv, path, **kw):
    """GET path, of the backend if it sends background-thread frames."""
    return backend_get(srv, path, **kw) if on_backend(path) else srv.get(path, **kw)


def assert_serving(srv):
    assert srv.alive()
    assert srv.get_json("/pid")["pid"] > 0


def next_on(conn):
    """A second request on the same connection gets a whole, clean answer
    (when the server kept it open)."""
    assert conn.buf == b"", conn.buf[:200]
    if conn.is_closed(timeout=0.2):
        return
    conn.request("GET", "/pid")
    r = conn.read_response()
    assert r.status == 200 and b'"pid"' in r.body, r


# ---------------------------------------------------------------- kills

# (path, what the console says): one bad frame (/send), or a bad frame
# after valid ones (/bad_many).
KILLING = ([("/send?case=" + case, KILLED[case]) for case in sorted(KILLED)] +
           [("/bad_many?kind=" + kind, BAD_MANY[kind]) for kind in sorted(BAD_MANY)])


@pytest.mark.parametrize("path,logged", KILLING)
def test_frame_breaking_the_protocol_kills_only_its_instance(srv, path, logged):
    mark = len(srv.stderr_text())
    r = hostile_get(srv, path)
    assert r.status_code == 500, (r.status_code, r.text[:300])
    assert srv.wait_stderr(logged, since=mark, timeout=30), srv.stderr_text()[mark:][-2000:]
    assert_serving(srv)


def test_instance_that_stops_reading_its_channel_is_killed(srv):
    """Answers the master owes an instance that no longer reads its channel
    pile up in the master's memory: past a bounded stall (CHANNEL_STALL_MS,
    10 s) the instance is killed and its request gets 500."""
    mark = len(srv.stderr_text())
    r = hostile_get(srv, "/stop_reading?n=200", timeout=60)
    assert r.status_code == 500, (r.status_code, r.text[:300])
    assert srv.wait_stderr("it stopped reading its channel", since=mark), \
        srv.stderr_text()[mark:][-2000:]
    assert_serving(srv)


def test_instance_that_reads_a_trickle_cannot_fill_the_masters_memory(srv):
    """An instance that sends API calls while reading only a trickle of
    what the master owes it stops being read once that passes
    CHANNEL_HOLD_MARK (16 MiB): its writes stall, where the master used to
    take every call and hold each answer (up to 1 GiB an instance). Once it
    reads again it gets every answer and its frames are handled again."""
    mark = len(srv.stderr_text())
    r = srv.get("/flood_unread?calls=200&s=4", timeout=60)
    assert r.status_code == 200, (r.status_code, r.text[:300], srv.stderr_text()[mark:][-2000:])
    took, answered = r.json()["took"], r.json()["answered_mib"]
    assert took < 64, took  # 16 MiB owed, plus what the two sockets hold
    assert answered >= took, (took, answered)
    assert_serving(srv)


def test_background_rows_of_a_killed_instance_end(srv):
    # Ten background threads started, then an eleventh: the instance is
    # killed and each of the ten request log rows ends (500), none stays
    # running. Earlier tests on this server left such rows of their own
    # (test_frame_breaking_the_protocol_kills_only_its_instance ran this
    # very kind), so only rows new since then count, per instance; and the
    # ten may land in more than one of the log store's 100 ms commits, so
    # they are counted until ten have ended.
    before = set(srv.log_rows("/_ah/background")[0])
    r = hostile_get(srv, "/bad_many?kind=bg_over_max")
    assert r.status_code == 500
    new, out = srv.wait_new_log_rows("/_ah/background", before,
                                     lambda new: ten_ended(of_one_instance(new)))
    rows = of_one_instance(new)
    assert len(rows) == 10, out[-2000:]
    assert all(row["finished"] for row in rows), out[-2000:]


CPU_PAST_U32 = 3 * (1 << 32) + 12345  # us, as the app's
CPU_MAX = 1 << 52  # IPC_MAX_CPU_US


def test_cpu_past_u32_reaches_the_log(srv):
    # Background threads of 1 s, 3.6 h and IPC_MAX_CPU_US of CPU: the
    # first row's megacycles are the clock's (--cpu_cap may account at the
    # host's), the others that many per second, none stopped at a u32's
    # 71.6 minutes.
    before = set(srv.log_rows("/_ah/background")[0])
    assert hostile_get(srv, "/bg_cpu").status_code == 200

    def mcycles(us, mhz):
        return us // 1000000 * mhz + us % 1000000 * mhz // 1000000

    def clock(rows):
        got = {row["mcycles"] for row in rows}
        return next((m for m in got if m > 0 and mcycles(CPU_PAST_U32, m) in got and
                     mcycles(CPU_MAX, m) in got), None)

    new, out = srv.wait_new_log_rows("/_ah/background", before, clock)
    mhz = clock(new)
    assert mhz, out[-2000:]
    # A request's own answer likewise.
    with Conn(srv.port) as c:
        c.request("GET", "/send?case=cpu_past_u32")
        r = c.read_response()
        assert r.status == 200 and r.body == BODY, r
    want = mcycles(CPU_PAST_U32, mhz)
    rows, out = srv.wait_new_log_rows("/send?case=cpu_past_u32", set(),
                                      lambda rows: any(r["finished"] for r in rows))
    assert [r["mcycles"] for r in rows] == [want], out[-2000:]
    assert want > mcycles(0xFFFFFFFF, mhz)
    assert_serving(srv)


def of_one_instance(rows):
    """The rows of the instance that has the most of them."""
    per_instance = {}
    for row in rows:
        per_instance.setdefault(row["instance_id"], []).append(row)
    return max(per_instance.values(), key=len, default=[])


def ten_ended(rows):
    return len(rows) >= 10 and all(row["finished"] for row in rows)


# ---------------------------------------------------------------- responses

@pytest.mark.parametrize("case", INVALID_RESPONSE)
def test_invalid_app_response_becomes_a_500(srv, case):
    with Conn(srv.port) as c:
        c.request("GET", "/send?case=" + case)
        r = c.read_response()
        assert r.status == 500, r
        assert b"X-Injected" not in r.raw_head and b"forged" not in r.body, r
        assert not r.header("x-a"), r
        next_on(c)
    assert_serving(srv)


@pytest.mark.parametrize("case", DESYNC)
def test_framing_headers_of_the_app_never_reach_the_client(srv, case):
    with Conn(srv.port) as c:
        c.request("GET", "/send?case=desync_" + case)
        r = c.read_response()
        assert r.status == 200 and r.body == BODY, r
        assert r.header_all("content-length") == [str(len(BODY))], r
        for name in ("transfer-encoding", "connection", "upgrade", "keep-alive",
                     "proxy-connection", "trailer", "te"):
            assert r.header(name) is None, (name, r)
        next_on(c)


@pytest.mark.parametrize("case", ["content_length_two", "content_length_long",
                                  "transfer_encoding"])
def test_framing_headers_of_the_app_in_a_head_response(srv, case):
    with Conn(srv.port) as c:
        c.request("HEAD", "/send?case=desync_" + case)
        r = c.read_response(head=True)
        assert r.status == 200, r
        assert r.header("transfer-encoding") is None, r
        assert r.header_all("content-length") in ([], [str(len(BODY))]), r
        next_on(c)  # no body came after the head


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_status_sends_no_body(srv, status):
    with Conn(srv.port) as c:
        c.request("GET", "/send?case=no_body_%d" % status)
        r = c.read_response()
        assert r.status == status, r
        assert r.header("transfer-encoding") is None, r
        # The 32 bytes the app sent would make the next response unreadable.
        next_on(c)


def test_duplicate_response_is_not_sent_and_kills_the_instance(srv):
    mark = len(srv.stderr_text())
    with Conn(srv.port) as c:
        c.request("GET", "/send?case=duplicate")
        r = c.read_response()
        assert r.status == 200 and r.body == BODY, r
        # The runtime answers the same request again: a violation.
        assert srv.wait_stderr(NOT_GIVEN, since=mark), srv.stderr_text()[mark:][-2000:]
        next_on(c)
    assert_serving(srv)


def test_answer_for_another_instances_request_does_not_reach_it(serve):
    # One request at a time per instance: the slow request runs on one
    # instance, the forging one on the other, which answers every request
    # id but its own: the slow request's id on its instance among them.
    srv = serve(APP, "--threads", "1", "--max_instances", "2")
    first = srv.get_json("/pid")["pid"]
    slow = {}
    t = threading.Thread(target=lambda: slow.update(r=srv.get("/hold?tag=a&s=2")))
    t.start()
    time.sleep(0.5)
    mark = len(srv.stderr_text())
    r = srv.get("/send?case=response_all_other_ids")
    assert r.status_code == 500, r.text[:300]
    assert srv.wait_stderr(NOT_GIVEN, since=mark)
    t.join()
    assert slow["r"].status_code == 200, slow["r"].text[:300]
    assert slow["r"].json()["tag"] == "a" and b"stolen" not in slow["r"].content
    assert first > 0
    assert_serving(srv)


def test_answer_for_another_request_of_the_same_instance(serve):
    # An instance may answer any request it holds (it was given it), but
    # only once: its own answer for that request later is a violation.
    srv = serve(APP, "--threads", "4", "--max_instances", "1")
    held = {}
    t = threading.Thread(target=lambda: held.update(r=srv.get("/hold?tag=a&s=3")))
    t.start()
    deadline = time.monotonic() + 10
    rid = None
    while rid is None and time.monotonic() < deadline:
        rid = srv.get_json("/held")["rids"].get("a")
        time.sleep(0.05)
    assert rid, "the held request never started"
    mark = len(srv.stderr_text())
    other = srv.get("/answer_other?id=%d" % rid)
    t.join()
    assert held["r"].status_code == 200 and held["r"].content == b"from another request"
    assert other.status_code == 200 and other.json()["rid"] != rid
    assert srv.wait_stderr(NOT_GIVEN, since=mark)
    assert_serving(srv)


def test_random_frame_sequences(srv):
    # Seeded: a failure names the seed to replay. Each run is answered
    # (whatever status the frames made) and the master goes on serving.
    for seed in range(300):
        r = srv.get("/fuzz?seed=%d" % seed)
        assert 200 <= r.status_code < 600, (seed, r.status_code)
        assert srv.alive(), seed
    assert_serving(srv)


# ---------------------------------------------------------------- tolerated

def test_log_flood_is_stored_and_kills_nothing(srv):
    mark = len(srv.stderr_text())
    r = srv.get("/flood_logs?n=20000")
    assert r.status_code == 200, r.text[:300]
    out = srv.wait_logs("flood line 19999", "--limit", "1")
    assert "flood line 19999" in out and "flood line 0" in out, out[-2000:]
    # Lines of no request go to the console.
    r = srv.get("/flood_logs?n=2000&id=0&level=2")
    assert r.status_code == 200, r.text[:300]
    assert srv.wait_stderr("flood line 1999", since=mark), srv.stderr_text()[-2000:]
    text = srv.stderr_text()[mark:]
    assert BROKE not in text and " lost: " not in text, text[-2000:]
    assert_serving(srv)


def test_log_flood_cannot_push_other_requests_logs_out(serve):
    """An app that floods its log faster than the log writer stores it (here
    Flush calls carrying millions of empty lines) gets its lines dropped,
    but other requests' logs are still stored: app lines were dropped at the
    same bound as request logs, and every request answered while the flood
    filled the writer's queue lost its log (737 of 737)."""
    srv = serve(APP, TEST_SERVICE, "--threads", "2", "--max_instances", "2")
    resource = "/pid?during=flush_flood"
    flood = {}
    t = threading.Thread(target=lambda: flood.update(
        r=srv.get("/flush_flood?calls=6&mb=31", timeout=120)))
    t.start()
    sent = 0
    while t.is_alive() and sent < 300:
        assert srv.get(resource).status_code == 200
        sent += 1
    t.join(130)
    assert flood["r"].status_code == 200, flood["r"].text[:300]
    assert flood["r"].json()["results"] == [[0, 0]] * 6
    # Counted in the database: `gaelic logs --json` would print the
    # flood's millions of lines too.
    db = "file:%s?mode=ro" % os.path.join(srv.storage_path, "logs.db")
    deadline = time.monotonic() + 30
    while True:
        with sqlite3.connect(db, uri=True, timeout=10) as c:
            stored = c.execute("SELECT count(*) FROM request_logs WHERE resource = ?",
                               (resource,)).fetchone()[0]
        if stored >= sent or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert stored == sent, (stored, sent, srv.stderr_text()[-2000:])
    assert_serving(srv)


@pytest.mark.parametrize("of", ["0", "request"])
def test_app_log_lines_cannot_forge_console_lines(srv, of):
    # As the runtime's retire reason (test_deadlines.py): every line the
    # console shows of an app log line names its instance.
    forged = "%s\n2026-01-01 WARNING forged %s\x1b[2J\r\nTraceback tail" % (of, of)
    r = srv.get("/log_line?level=3&id=%s&text=%s" % (of, requests.utils.quote(forged)))
    assert r.status_code == 200, r.text[:300]
    assert srv.wait_stderr("] 2026-01-01 WARNING forged %s?[2J" % of), srv.stderr_text()[-2000:]
    assert "\n2026-01-01 WARNING forged" not in srv.stderr_text()
    assert re.search(r"^\S+ \S+ ERROR \[instance \d+\] Traceback tail$", srv.stderr_text(), re.M)


def test_app_log_line_of_newlines_makes_no_console_flood(srv):
    # 100 000 empty lines in one message: the console shows a bounded
    # part of it (as it showed one line at most before lines were split),
    # then says how much it left out.
    mark = len(srv.stderr_text())
    r = srv.get("/log_line?level=3&id=0&text=nl-flood&nl=100000")
    assert r.status_code == 200, r.text[:300]
    assert srv.wait_stderr("more bytes not shown)", since=mark), srv.stderr_text()[-2000:]
    shown = [line for line in srv.stderr_text()[mark:].splitlines() if "ERROR [instance" in line]
    assert 100 < len(shown) < 2000, len(shown)


# The answer follows the frames on the same channel: a 200 means the master
# took them all without killing the instance.

def test_repeated_ready_is_harmless(srv):
    r = srv.get("/repeat?kind=ready&n=200")
    assert r.status_code == 200
    assert_serving(srv)


def test_background_start_and_end_cycles(srv):
    mark = len(srv.stderr_text())
    r = hostile_get(srv, "/repeat?kind=background&n=20")
    assert r.status_code == 200, r.text[:300]
    assert_serving(srv)
    # The master answers each start with the thread's environ
    # (IPC_BACKGROUND_STARTED); the instance drops the answers to starts
    # its runtime did not make, and lives on.
    pid = r.json()["pid"]
    assert not srv.wait_stderr("instance %d: protocol violation" % pid, timeout=1, since=mark)
    assert "(pid %d) exited" % pid not in srv.stderr_text()[mark:]


def test_background_starts_of_a_frontend_are_refused(srv):
    """BG2 holds in the master: the default version's instance that writes
    background-thread starts itself (11, one past the limit) gets each
    refused (IPC_BACKGROUND_REFUSED, which its runtime drops), no request
    log opens and it lives on."""
    before = set(srv.log_rows("/_ah/background")[0])
    mark = len(srv.stderr_text())
    r = srv.get("/repeat?kind=background_starts&n=%d" % 11)
    assert r.status_code == 200, r.text[:300]
    pid = r.json()["pid"]
    r = srv.get("/repeat?kind=ready&n=1")  # after the refusals, on the same channel
    assert r.status_code == 200
    assert not srv.wait_stderr("instance %d: protocol violation" % pid, timeout=1, since=mark)
    assert "(pid %d) exited" % pid not in srv.stderr_text()[mark:]
    assert set(srv.log_rows("/_ah/background")[0]) == before
    assert_serving(srv)


def test_repeated_retire_stops_the_instance_once(serve):
    srv = serve(APP, "--threads", "1", "--max_instances", "1")
    mark = len(srv.stderr_text())
    r = srv.get("/repeat?kind=retire&n=100")
    assert r.status_code == 200, r.text[:300]
    old = r.json()["pid"]
    assert srv.wait_stderr("retired by the test app; shutting it down", since=mark)
    time.sleep(0.5)
    assert srv.stderr_text()[mark:].count("retired by the test app") == 1
    assert srv.get_json("/pid")["pid"] != old
    assert srv.alive()


# ---------------------------------------------------------------- backends

BACKENDS_YAML = """backends:
- name: hostile
  instances: 1
  options: public
  start: main.start
"""


def backend_app(tmp_path, start_case=""):
    d = copy_app("hostile_channel", tmp_path / "app")
    with open(os.path.join(d, "backends.yaml"), "w") as f:
        f.write(BACKENDS_YAML)
    if start_case:
        with open(os.path.join(d, "start-case"), "w") as f:
            f.write(start_case)
    return d


@pytest.mark.parametrize("case, reason", [
    ("oversize", "it sent an oversized frame"),
    ("type_99", BROKE),
    ("response_unknown_id", NOT_GIVEN),
    ("response_truncated", MALFORMED),
    ("status_crlf", "start request answered 500"),
    ("split_header_exit", EXITED),
])
def test_backend_start_request_that_breaks_the_protocol(serve, tmp_path, case, reason):
    # Each start of the resident instance dies (it is started again, later
    # each time: test_backends.py), and the frontend keeps serving.
    # Requests for the backend wait for a start that never succeeds: 503
    # after a second, not the default 10.
    srv = serve(backend_app(tmp_path, case), "--max_pending_latency", "1")
    assert srv.wait_stderr(reason, timeout=10), srv.stderr_text()[-3000:]
    assert_serving(srv)
    assert backend_get(srv, "/pid").status_code >= 500
    assert srv.alive()


@pytest.mark.parametrize("case, reason", [
    # The instance runs nothing when it breaks the rule: the reason is
    # logged all the same.
    ("end_twice", BROKE),
    ("response", NOT_GIVEN),
    ("logs", None),
])
def test_background_thread_that_forges_frames(serve, tmp_path, case, reason):
    srv = serve(backend_app(tmp_path))
    mark = len(srv.stderr_text())
    r = backend_get(srv, "/background?case=" + case)
    # The thread's frames may come before the request's answer: killed
    # then, the instance fails that request too.
    assert r.status_code == 200 or (reason and r.status_code == 500), r.text[:300]
    if reason:
        assert srv.wait_stderr(reason, since=mark), srv.stderr_text()[mark:][-3000:]
    else:
        time.sleep(1)
        assert "lost:" not in srv.stderr_text()[mark:], srv.stderr_text()[mark:][-3000:]
    deadline = time.monotonic() + 10
    while backend_get(srv, "/pid").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert backend_get(srv, "/pid").status_code == 200
    assert_serving(srv)


# ---------------------------------------------------------------- bounded

def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


STRESS = ["type_99", "response_unknown_id", "response_n_headers_huge", "header_value_crlf",
          "desync_transfer_encoding", "split_payload_exit", "duplicate", "log_flags"]
STRESS_BAD_MANY = ["bg_over_max", "api_flood", "api_reused_id"]


def test_hundreds_of_hostile_instances_leak_nothing(serve):
    srv = serve(APP, TEST_SERVICE, "--threads", "1", "--max_instances", "1")

    def one_round():
        for case in STRESS:
            with Conn(srv.port) as c:
                c.request("GET", "/send?case=" + case)
                c.read_response()
        for kind in STRESS_BAD_MANY:
            hostile_get(srv, "/bad_many?kind=" + kind)
        hostile_get(srv, "/repeat?kind=background&n=2")
        srv.get("/flood_logs?n=200")

    for _ in range(3):  # warm up: caches, log store, allocator arenas
        one_round()
    assert_serving(srv)
    fds, rss = fd_count(srv.pid), rss_kb(srv.pid)
    lost = srv.stderr_text().count(" lost: ")
    rounds = 25  # 25 x 14 hostile requests, 25 x 11 instances killed
    for _ in range(rounds):
        one_round()
    assert_serving(srv)
    # Seven of the kills each round happen with the request in flight.
    assert srv.stderr_text().count(" lost: ") - lost >= 7 * rounds
    # One instance alive before and after: the same descriptors.
    assert fd_count(srv.pid) <= fds + 2, (fds, fd_count(srv.pid))
    if not UNDER_ASAN:  # its quarantine holds freed memory back
        grown = rss_kb(srv.pid) - rss
        assert grown < 16 * 1024, "the master grew by %d kB over %d rounds" % (grown, rounds)
