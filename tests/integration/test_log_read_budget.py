"""The Logs API Reads' memory budget (LG1, src/log_read_budget.c): however
many Reads of large answers run at once, over the instances' channels and
the HTTP API server, the master holds at most LOG_READ_SHARES answers and
each Read still gets its full answer; Reads beyond the shares wait their
turn (first come, first served), one that waits past its caller's deadline
fails as any API call past its deadline, and past the queue's bound a Read
gets the Logs API's STORAGE_ERROR.

Every Read here asks for version v1's requests that ended before the log
was filled, with their app lines: the same answer of about 4.2 MB (the
Read stops past LOG_READ_MAX_BYTES, with an offset), which a first Read
made alone gives the reference for."""
import concurrent.futures
import hashlib
import http.client
import os
import re
import socket
import threading
import time

import pytest
import requests

from harness import GAELIC_BIN, HOST, app_path
# The remote_api messages, built with gaelic's own proto module.
from test_api_http import API_LINE_RE, RemoteRequest, RemoteResponse, log_pb

APP = app_path("logbudget")
UNDER_ASAN = "asan" in os.path.basename(os.path.dirname(GAELIC_BIN))
READERS = 3  # backends.yaml: reader, 3 instances of 8 concurrent requests
SHARES = 4  # LOG_READ_SHARES
STORAGE_ERROR = 2


@pytest.fixture(scope="module")
def srv(mserve):
    s = mserve(APP)
    s.api_port = int(API_LINE_RE.search(s.stdout_text()).group(1))
    # About 16 MB of app lines in 8 requests of v1: every Read below stops
    # at its 4 MB budget, with an offset.
    for _ in range(8):
        get(s, "/fill?n=250&size=8000")
    # Every Read asks for what ended before this: the same answer each time
    # (the requests of the test that follow end later).
    time.sleep(0.01)
    s.end = int(time.time() * 1e6)
    s.reference = reads(s, 1)[0]
    assert s.reference["len"] > 4 << 20 and s.reference["offset"], s.reference
    return s


def get(srv, path, instance=None, timeout=120):
    headers = None
    if instance is not None:
        headers = {"Host": "%d.reader.localhost:%d" % (instance, srv.port)}
    r = requests.get(srv.url.rstrip("/") + path, headers=headers, timeout=timeout)
    assert r.status_code == 200, (path, r.status_code, r.text[:300], srv.stderr_text()[-3000:])
    return r.json()


def reads(srv, n, instance=0, **params):
    query = "".join("&%s=%s" % kv for kv in params.items())
    return get(srv, "/reads?n=%d&end=%d%s" % (n, srv.end, query), instance)["reads"]


def read_body(srv, ticket):
    """The remote_api Request of the same Read, for the HTTP API server."""
    req = log_pb.LogReadRequest(app_id=ticket.app_id, end_time=srv.end, include_app_logs=True,
                                count=1000)
    req.version_id.append("v1")
    return RemoteRequest(service_name="logservice", method="Read",
                         request=req.SerializeToString(), request_id=ticket.hex).SerializeToString()


def api_read(srv, ticket):
    """One Read over the HTTP API server: its answer's digest, as /reads."""
    c = http.client.HTTPConnection(HOST, srv.api_port, timeout=120)
    try:
        c.request("POST", "/rpc_http", body=read_body(srv, ticket),
                  headers={"Content-Type": "application/octet-stream",
                           "X-Google-RPC-Service-Deadline": "120"})
        r = c.getresponse()
        return digest(r.status, r.read())
    finally:
        c.close()


def digest(status, body):
    assert status == 200, (status, body[:200])
    env = RemoteResponse()
    env.ParseFromString(body)
    for field in ("rpc_error", "application_error"):
        if env.HasField(field):
            return {"error": field, "code": getattr(env, field).code}
    return {"sha256": hashlib.sha256(env.response).hexdigest(), "len": len(env.response)}


class Ticket:
    def __init__(self, hex, app_id):
        self.hex, self.app_id = hex, app_id


class Held:
    """A request of v1 that runs (its API ticket live) until the test
    leaves the with block; it ends after srv.end, so no Read returns it."""

    def __init__(self, srv, tag):
        self.srv, self.tag = srv, tag

    def __enter__(self):
        self.thread = threading.Thread(target=get, args=(self.srv, "/hold?tag=" + self.tag),
                                       daemon=True)
        self.thread.start()
        me = get(self.srv, "/ticket?tag=" + self.tag)
        assert me["ticket"], me
        self.ticket = Ticket(me["ticket"], me["app_id"])
        return self

    def __exit__(self, *exc):
        get(self.srv, "/release?tag=" + self.tag)
        self.thread.join(60)
        return False


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(key + r":\s+(\d+)", f.read()).group(1))


def test_many_concurrent_reads_get_full_answers_in_bounded_memory(srv):
    """240 Reads over the channels (3 instances x 8 requests x 10
    asynchronous calls) and 16 over the HTTP API at once. Each held its
    4.2 MB answer at the same time before: 1 GB of answers, and the master's
    peak grew by 1.9 GB. Now at most SHARES answers are held, each at worst
    three times while it is handed over (the LogReadResponse, the Response
    envelope, the frame in its channel or connection), in buffers grown by
    doubling: SHARES x 3 x 2 x 4.2 MB, about 100 MB (measured: 45 to
    65 MB).
    """
    ref = srv.reference
    for i in range(READERS):  # every reader instance up before the peak is taken
        assert reads(srv, 1, i) == [ref]
    with Held(srv, "many") as held:
        # The peak from here (Linux >= 4.0: writing 5 resets VmHWM).
        with open("/proc/%d/clear_refs" % srv.pid, "w") as f:
            f.write("5")
        before = status_kb(srv.pid, "VmRSS")
        with concurrent.futures.ThreadPoolExecutor(READERS * 8 + 16) as ex:
            channel = [ex.submit(reads, srv, 10, i % READERS) for i in range(READERS * 8)]
            over_http = [ex.submit(api_read, srv, held.ticket) for _ in range(16)]
            got = [x for f in channel for x in f.result()]
            got_http = [f.result() for f in over_http]
        peak = status_kb(srv.pid, "VmHWM")
    assert len(got) == READERS * 8 * 10
    assert all(x == ref for x in got), [x for x in got if x != ref][:3]
    want = {"sha256": ref["sha256"], "len": ref["len"]}
    assert all(x == want for x in got_http), got_http[:3]
    if not UNDER_ASAN:  # its quarantine holds freed memory back
        grown, bound = peak - before, SHARES * 3 * 2 * ref["len"] // 1024
        assert grown < bound, "the master's peak grew by %d kB (bound %d kB)" % (grown, bound)


def stuck_reader(srv, ticket):
    """A client of the HTTP API that sends a Read and does not read its
    answer: the answer stays in the master (it is larger than the socket
    buffers), and so does its share."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((HOST, srv.api_port))
    body = read_body(srv, ticket)
    s.sendall(("POST /rpc_http HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
               "Content-Length: %d\r\n\r\n" % len(body)).encode() + body)
    for _ in range(600):  # bounded: 30 s, until its answer has begun
        try:
            if s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                return s
        except BlockingIOError:
            pass
        time.sleep(0.05)
    raise AssertionError("no answer began for a stuck reader")


def read_answer(s):
    """Reads a stuck reader's whole HTTP answer: its digest."""
    s.settimeout(60)
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(body) < length:
        chunk = s.recv(1 << 20)
        assert chunk, "the answer was cut"
        body += chunk
    s.close()
    return digest(int(head.split()[1]), body)


def test_reads_wait_their_turn_past_deadline_fail_and_full_queue_refuses(srv):
    """With every share held by answers that their clients do not read, a
    Read waits: one whose deadline passes gets DeadlineExceededError; once
    the waiting Reads' requests pass LOG_READ_MAX_WAITING_BYTES (16 MiB,
    here 1 MiB each) the next ones get STORAGE_ERROR at once. When the
    clients read (or one leaves), every waiting Read gets its full answer,
    and every share comes back."""
    ref = srv.reference
    want = {"sha256": ref["sha256"], "len": ref["len"]}
    stuck = []
    try:
        with Held(srv, "stuck") as held:
            stuck = [stuck_reader(srv, held.ticket) for _ in range(SHARES)]
            assert reads(srv, 1, 0, deadline=1) == [{"error": "DeadlineExceededError"}]
            results = {}
            waiting = threading.Thread(
                target=lambda: results.update(r=reads(srv, 20, 1, pad=1 << 20, tag="queue")),
                daemon=True)
            waiting.start()
            # The 20 calls reached the master before this answer did.
            assert get(srv, "/started?tag=queue", 1)["sent"] == 20
            assert "r" not in results
            # One client leaves without its answer, the others read theirs.
            stuck.pop().close()
            answers = [read_answer(s) for s in stuck]
            stuck = []
            waiting.join(120)
        assert answers == [want] * (SHARES - 1)
        got = results["r"]
        refused = [x for x in got if x.get("code") == STORAGE_ERROR]
        answered = [x for x in got if x == ref]
        assert len(refused) + len(answered) == 20, got
        assert refused and answered, got
        assert all("waiting" in x["detail"] for x in refused), refused
        # Every share came back: as many Reads at once as there are shares,
        # and more, all answered.
        assert reads(srv, 2 * SHARES, 2) == [ref] * (2 * SHARES)
    finally:
        for s in stuck:
            s.close()
