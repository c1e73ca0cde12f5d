"""The HTTP API server (issue 6, API4, BG1-BG2): gaelic serve answers the
appengine-python-standard SDK's DefaultApiStub protocol, POST /rpc_http
with a serialized remote_api Request whose request_id is the API ticket of
a running request (API-MESSAGES.md section 1), with the same handlers as
the instances' channel; and system.StartBackgroundRequest, through either
transport.

The client below sends exactly what DefaultApiStub sends (its headers, its
envelope), encoded by hand from the field numbers. A ticket comes from a
request of the test app that holds itself open (/hold) until the test
releases it; /peek reads the held request's ticket from the same
instance."""
import http.client
import importlib.util
import os
import re
import secrets
import socket
import sys
import threading
import time

import pytest

from harness import HOST, HTTP_TIMEOUT, REPO, Conn, app_path, run_gaelic

APP = app_path("api_http")
API_LINE_RE = re.compile(r"^gaelic: API server at http://127\.0\.0\.1:(\d+)/rpc_http$", re.M)

SDK_HEADERS = {
    "X-Google-RPC-Service-Endpoint": "app-engine-apis",
    "X-Google-RPC-Service-Method": "/VMRemoteAPI.CallRemoteAPI",
    "X-Google-RPC-Service-Deadline": "60",
    "Content-type": "application/octet-stream",
}

# RpcError codes and the services' ApplicationError codes
CALL_NOT_FOUND, SECURITY_VIOLATION, BAD_REQUEST = 1, 3, 8
REQUEST_TOO_LARGE, DEADLINE_EXCEEDED = 5, 12
BACKEND_REQUIRED, LIMIT_REACHED = 2, 3
LOG_INVALID_REQUEST = 1


# ---------------------------------------------------------------- protobuf
# The messages are built with gaelic's own proto module and message classes
# (python/google/appengine): the same bytes the SDK's protobuf would send.

sys.path.insert(0, os.path.join(REPO, "python"))
from google.appengine.runtime import proto  # noqa: E402
from google.appengine.runtime.proto import BYTES, INT32, MESSAGE, REQUIRED, STRING, Field  # noqa
from google.appengine.api.system import system_service_pb2 as system_pb  # noqa: E402


def _load(relpath, name):
    """A module of python/ by its file: the logservice package itself needs
    the instance runtime."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, "python", relpath))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


log_pb = _load("google/appengine/api/logservice/log_service_pb2.py", "log_service_pb2")


class RemoteRequest(proto.Message):
    """remote_api Request (API-MESSAGES.md section 1)."""
    FIELDS = (Field("service_name", 2, STRING, REQUIRED), Field("method", 3, STRING, REQUIRED),
              Field("request", 4, BYTES, REQUIRED), Field("request_id", 5, STRING))


class _Error(proto.Message):
    """ApplicationError and RpcError share this layout."""
    FIELDS = (Field("code", 1, INT32, REQUIRED), Field("detail", 2, STRING))


class RemoteResponse(proto.Message):
    FIELDS = (Field("response", 1, BYTES), Field("exception", 2, BYTES),
              Field("application_error", 3, MESSAGE, message_type=_Error),
              Field("java_exception", 4, BYTES), Field("rpc_error", 5, MESSAGE, message_type=_Error))


def envelope(service, method, request=b"", ticket=None):
    """A remote_api Request as DefaultApiStub builds it."""
    if not isinstance(request, bytes):
        request = request.SerializeToString()
    r = RemoteRequest(service_name=service, method=method, request=request)
    if ticket is not None:
        r.request_id = ticket
    return r.SerializeToString()


class Reply:
    """A remote_api Response: kind 'ok' (response), 'app' or 'rpc'."""

    def __init__(self, status, body):
        assert status == 200, (status, body)
        r = RemoteResponse()
        r.ParseFromString(body)
        self.response = r.response
        self.code = self.detail = None
        # DefaultApiStub looks at rpc_error first.
        for kind, field in (("rpc", "rpc_error"), ("app", "application_error")):
            if r.HasField(field):
                self.kind = kind
                self.code = getattr(r, field).code
                self.detail = getattr(r, field).detail
                return
        self.kind = "ok"

    def parse(self, message):
        assert self.kind == "ok", self
        message.ParseFromString(self.response)
        return message

    def __repr__(self):
        return "<Reply %s code=%s detail=%r %r>" % (self.kind, self.code, self.detail,
                                                   self.response[:80])


def post(port, body, path="/rpc_http", method="POST", headers=None, conn=None):
    """(status, headers dict, body) of one exchange."""
    c = conn or http.client.HTTPConnection(HOST, port, timeout=HTTP_TIMEOUT)
    try:
        c.request(method, path, body, SDK_HEADERS if headers is None else headers)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        if conn is None:
            c.close()


def call(port, service, method, request=b"", ticket=None, deadline=None, conn=None):
    headers = dict(SDK_HEADERS)
    if deadline is not None:
        headers["X-Google-RPC-Service-Deadline"] = deadline
    status, _, body = post(port, envelope(service, method, request, ticket), headers=headers,
                           conn=conn)
    return Reply(status, body)


def stats_of(reply):
    """GetSystemStatsResponse -> {'cpu': {...}, 'memory': {...}}."""
    r = reply.parse(system_pb.GetSystemStatsResponse())
    assert r.HasField("cpu") and r.HasField("memory"), r
    return {"cpu": {f.name: v for f, v in r.cpu.ListFields()},
            "memory": {f.name: v for f, v in r.memory.ListFields()}}


def flush_request(*lines):
    """logservice FlushRequest with (level, message) lines."""
    group = log_pb.UserAppLogGroup()
    for level, message in lines:
        group.log_line.add(timestamp_usec=int(time.time() * 1e6), level=level, message=message)
    return log_pb.FlushRequest(logs=group.SerializeToString())


def request_id_of(reply):
    return reply.parse(system_pb.StartBackgroundRequestResponse()).request_id


# ---------------------------------------------------------------- server

@pytest.fixture(scope="module")
def srv(mserve):
    s = mserve(APP, "--api_test_service")
    m = API_LINE_RE.search(s.stdout_text())
    assert m, s.stdout_text()
    s.api_port = int(m.group(1))
    return s


def host_of(srv, instance=None):
    """Host header for a worker backend instance (None: the default version)."""
    if instance is None:
        return None
    return {"Host": "%d.worker.localhost:%d" % (instance, srv.port)}


def get(srv, path, instance=None, timeout=HTTP_TIMEOUT):
    r = srv.get(path, headers=host_of(srv, instance), timeout=timeout)
    assert r.status_code == 200, (path, r.status_code, r.text, srv.stderr_text()[-3000:])
    return r.json()


class Held:
    """A request of the app that runs (so its ticket is live) until the
    test leaves the with block; .me has its ticket and log id, .result its
    answer once released."""

    def __init__(self, srv, instance=None):
        self.srv, self.instance = srv, instance
        self.key = secrets.token_hex(8)
        self.result = None
        self.error = None

    def _run(self):
        try:
            self.result = get(self.srv, "/hold?key=" + self.key, self.instance, timeout=60)
        except Exception as e:  # reported by __exit__'s caller
            self.error = e

    def __enter__(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.me = get(self.srv, "/peek?key=" + self.key, self.instance)
        assert self.me.get("ticket"), self.me
        return self

    def release(self):
        get(self.srv, "/release?key=" + self.key, self.instance)
        self.thread.join(60)
        assert not self.thread.is_alive() and self.error is None, self.error
        assert self.result["released"], self.result
        return self.result

    def __exit__(self, *exc):
        if self.result is None and self.thread.is_alive():
            try:
                self.release()
            except Exception:
                if exc[0] is None:
                    raise
        return False


def release_key(srv, key, instance=None):
    get(srv, "/release?key=" + key, instance)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- start-up

def test_api_server_url_is_printed_with_the_serving_url(srv):
    out = srv.stdout_text().splitlines()
    assert out[0].startswith('gaelic: serving app "api-http" at http://127.0.0.1:')
    assert API_LINE_RE.match(out[1]), out
    assert srv.api_port != srv.port


def test_help_documents_api_port():
    r = run_gaelic("serve", "--help")
    assert r.returncode == 0
    assert "--api_port P" in r.stdout and "/rpc_http" in r.stdout, r.stdout


def test_api_port_flag_picks_the_port(serve):
    port = free_port()
    s = serve(APP, "--api_port", port)
    assert "gaelic: API server at http://127.0.0.1:%d/rpc_http" % port in s.stdout_text()
    assert post(port, b"", method="GET")[0] == 405


def test_clients_at_max_connections_leave_the_api_port_open(serve):
    """The API port's connections are counted apart from the clients': a
    server full of clients still answers its instances' API calls."""
    s = serve(APP, "--max_connections", "2", "--header_timeout", "30")
    port = int(API_LINE_RE.search(s.stdout_text()).group(1))
    busy = []
    try:
        for i in range(2):  # a request begun: never evicted for a newcomer
            c = socket.create_connection((HOST, s.port), timeout=5)
            c.sendall(b"GET /x%d HTTP/1.1\r\nHost: x\r\n" % i)
            busy.append(c)
        time.sleep(0.2)
        assert post(port, b"", method="GET")[0] == 405
    finally:
        for c in busy:
            c.close()


def test_api_port_in_use_is_refused(serve):
    with socket.socket() as blocker:
        blocker.bind((HOST, 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        s = serve(APP, "--api_port", port, wait=False)
        assert s.wait(15) == 1, s.stderr_text()
    assert "API server (--api_port)" in s.stderr_text(), s.stderr_text()


def test_instances_get_api_host_and_port(srv):
    env = get(srv, "/env")
    assert env["process_api_host"] == "127.0.0.1"
    assert env["process_api_port"] == str(srv.api_port)


# ---------------------------------------------------------------- tickets

def test_every_request_gets_its_own_ticket(srv):
    a, b = get(srv, "/env"), get(srv, "/env")
    for t in (a["ticket"], b["ticket"]):
        assert re.fullmatch(r"[0-9a-f]{32}", t), t
    assert a["ticket"] != b["ticket"]
    # A client cannot choose its ticket: X-AppEngine-* headers are the
    # server's own.
    forged = "0" * 32
    c = srv.get("/env", headers={"X-AppEngine-Api-Ticket": forged}).json()
    assert re.fullmatch(r"[0-9a-f]{32}", c["ticket"]) and c["ticket"] != forged
    # Backend requests too.
    w = get(srv, "/env", instance=0)
    assert w["backend"] == "worker" and re.fullmatch(r"[0-9a-f]{32}", w["ticket"])


def test_no_forged_or_ended_ticket_is_accepted(srv):
    ended = get(srv, "/env")["ticket"]  # its request is over
    for ticket in (None, "", "0" * 32, secrets.token_hex(16), ended, ended.upper(),
                   ended + "0", "é"):
        r = call(srv.api_port, "system", "GetSystemStats", ticket=ticket)
        assert r.kind == "rpc" and r.code == SECURITY_VIOLATION, (ticket, r)
        assert "%" not in r.detail


def test_ticket_ends_with_its_request(srv):
    with Held(srv) as h:
        assert call(srv.api_port, "system", "GetSystemStats", ticket=h.me["ticket"]).kind == "ok"
        h.release()
    r = call(srv.api_port, "system", "GetSystemStats", ticket=h.me["ticket"])
    assert r.kind == "rpc" and r.code == SECURITY_VIOLATION, r


def test_background_thread_has_a_ticket_of_its_own(srv):
    """BG3: a background thread's ticket is its own, not its creator's
    (which ends with the creator's request): it names the thread's own
    request log while the thread runs, and ends with it."""
    idle(srv, 0)
    key = secrets.token_hex(6)
    creator = get(srv, "/bg_thread?key=" + key, instance=0)
    me = get(srv, "/peek?key=" + key, instance=0)
    try:
        assert re.fullmatch(r"[0-9a-f]{32}", me["ticket"]), me
        assert me["ticket"] != creator["ticket"] and me["log_id"] != creator["log_id"]
        r = call(srv.api_port, "system", "GetSystemStats", ticket=creator["ticket"])
        assert r.kind == "rpc" and r.code == SECURITY_VIOLATION, r
        assert call(srv.api_port, "system", "GetSystemStats", ticket=me["ticket"]).kind == "ok"
        # logservice Flush names the request by the ticket: the thread's
        # own row, whose id is its REQUEST_LOG_ID.
        marker = "with the thread's ticket " + key
        r = call(srv.api_port, "logservice", "Flush", flush_request((1, marker)),
                 ticket=me["ticket"])
        assert r.kind == "ok", r
        read = log_pb.LogReadRequest(app_id="api-http", include_incomplete=True,
                                     include_app_logs=True)
        read.request_id.append(me["log_id"].encode())
        logs = call(srv.api_port, "logservice", "Read", read, ticket=me["ticket"]).parse(
            log_pb.LogReadResponse()).log
        assert len(logs) == 1 and logs[0].resource == "/_ah/background", logs
        assert marker in [line.log_message for line in logs[0].line]
    finally:
        release_key(srv, key, instance=0)
    idle(srv, 0)
    r = call(srv.api_port, "system", "GetSystemStats", ticket=me["ticket"])
    assert r.kind == "rpc" and r.code == SECURITY_VIOLATION, r


# ---------------------------------------------------------------- calls

def test_get_system_stats_are_the_ticket_instances(srv):
    """Two backend instances, one holding 64 MB more: each ticket gets its
    own instance's figures."""
    get(srv, "/hog?mb=64", instance=1)
    with Held(srv, 0) as h0, Held(srv, 1) as h1:
        s0 = stats_of(call(srv.api_port, "system", "GetSystemStats", ticket=h0.me["ticket"]))
        s1 = stats_of(call(srv.api_port, "system", "GetSystemStats", ticket=h1.me["ticket"]))
    assert s1["memory"]["current"] - s0["memory"]["current"] > 40, (s0, s1)
    for s in (s0, s1):
        assert s["cpu"]["total"] > 0 and s["memory"]["current"] > 2
        assert set(s["cpu"]) == {"total", "rate1m", "rate10m"}
        assert set(s["memory"]) == {"current", "average1m", "average10m"}


def test_calls_are_charged_to_the_ticket_request(srv):
    with Held(srv) as h:
        for _ in range(20):
            assert call(srv.api_port, "system", "GetSystemStats",
                        ticket=h.me["ticket"]).kind == "ok"
        result = h.release()
    # The hold request made no API call of its own.
    assert result["api_cpu_us"] > 0, result


def test_calls_are_charged_to_the_ticket_background_thread(srv):
    """As for a request: what the master spent on a background thread's
    calls with its ticket counts for the thread (quota)."""
    idle(srv, 0)
    key = secrets.token_hex(6)
    get(srv, "/bg_thread?key=" + key, instance=0)
    me = get(srv, "/peek?key=" + key, instance=0)
    try:
        for _ in range(20):
            assert call(srv.api_port, "system", "GetSystemStats", ticket=me["ticket"]).kind == "ok"
    finally:
        release_key(srv, key, instance=0)
    idle(srv, 0)
    assert get(srv, "/done?key=" + key, instance=0)["api_cpu_us"] > 0


def test_keep_alive_connection_carries_many_calls(srv):
    with Held(srv) as h:
        conn = http.client.HTTPConnection(HOST, srv.api_port, timeout=HTTP_TIMEOUT)
        try:
            for i in range(5):
                r = call(srv.api_port, "system", "GetSystemStats", ticket=h.me["ticket"],
                         conn=conn)
                assert r.kind == "ok", (i, r)
            r = call(srv.api_port, "nope", "Nope", ticket=h.me["ticket"], conn=conn)
            assert r.kind == "rpc" and r.code == CALL_NOT_FOUND
        finally:
            conn.close()


def test_unknown_service_or_method_is_call_not_found(srv):
    with Held(srv) as h:
        for service, method in (("no_such_service", "Nope"), ("system", "NoSuchMethod")):
            r = call(srv.api_port, service, method, ticket=h.me["ticket"])
            assert r.kind == "rpc" and r.code == CALL_NOT_FOUND, r


def test_bad_logservice_arguments_are_application_errors(srv):
    with Held(srv) as h:
        t = h.me["ticket"]
        r = call(srv.api_port, "logservice", "Flush", flush_request((9, "level nine")), ticket=t)
        assert (r.kind, r.code) == ("app", LOG_INVALID_REQUEST), r
        assert "level" in r.detail
        r = call(srv.api_port, "logservice", "Read", log_pb.LogReadRequest(app_id="someone-else"),
                 ticket=t)
        assert (r.kind, r.code) == ("app", LOG_INVALID_REQUEST), r
        # A request that is not a message at all is the caller's parse error.
        r = call(srv.api_port, "logservice", "Flush", b"\xff\xff\xff", ticket=t)
        assert r.kind == "rpc" and r.code == 2, r


def test_logservice_flush_goes_to_the_ticket_request(srv):
    marker = "flushed over rpc_http " + secrets.token_hex(4)
    with Held(srv) as h:
        t = h.me["ticket"]
        r = call(srv.api_port, "logservice", "Flush",
                 flush_request((1, marker), (3, marker + " (error)")), ticket=t)
        assert r.kind == "ok" and r.response == b"", r
        # Read it back the same way: the held request, unfinished, with its lines.
        read = log_pb.LogReadRequest(app_id="api-http", include_incomplete=True,
                                     include_app_logs=True)
        read.request_id.append(h.me["log_id"].encode())
        logs = call(srv.api_port, "logservice", "Read", read, ticket=t).parse(
            log_pb.LogReadResponse()).log
        assert len(logs) == 1, logs
        assert logs[0].request_id == h.me["log_id"].encode()
        assert logs[0].HasField("finished") and not logs[0].finished
        assert [line.log_message for line in logs[0].line] == [marker, marker + " (error)"]
        h.release()


def test_call_past_its_deadline_is_deadline_exceeded(srv):
    with Held(srv) as h:
        # gaelic_test.Delay (--api_test_service) answers after 10 s; the
        # caller's deadline header says 0.2 s.
        # Its request: field 1, the delay in ms (10 s), as a varint.
        r = call(srv.api_port, "gaelic_test", "Delay", b"\x08\x90\x4e", ticket=h.me["ticket"],
                 deadline="0.2")
        assert r.kind == "rpc" and r.code == DEADLINE_EXCEEDED, r
        r = call(srv.api_port, "gaelic_test", "Echo", b"\x08\x05", ticket=h.me["ticket"],
                 deadline="5.0")
        assert r.kind == "ok" and r.response == b"\x08\x05", r


# ---------------------------------------------------------------- HTTP level

def test_other_paths_are_404_and_other_methods_405(srv):
    body = envelope("system", "GetSystemStats", ticket="0" * 32)
    for path in ("/", "/rpc", "/rpc_http/x", "/rpc_httpx"):
        assert post(srv.api_port, body, path=path)[0] == 404, path
    for method in ("GET", "PUT", "DELETE"):
        status, headers, _ = post(srv.api_port, body if method != "GET" else None,
                                  method=method)
        assert status == 405 and headers.get("allow") == "POST", (method, status, headers)
    # A query string does not change the path.
    status, _, raw = post(srv.api_port, body, path="/rpc_http?x=1")
    assert Reply(status, raw).code == SECURITY_VIOLATION


def test_host_checking_covers_the_api_port(serve):
    """As dev_appserver checked its API server's Host too; instances call
    it by address, which passes."""
    s = serve(APP, "--enable_host_checking")
    port = int(API_LINE_RE.search(s.stdout_text()).group(1))
    body = envelope("system", "GetSystemStats", ticket="0" * 32)
    assert post(port, body, headers=dict(SDK_HEADERS, Host="evil.example"))[0] == 400
    status, _, raw = post(port, body, headers=dict(SDK_HEADERS, Host="localhost:%d" % port))
    assert Reply(status, raw).code == SECURITY_VIOLATION
    # What the SDK in an instance sends as Host: API_HOST, an address.
    assert s.get_json("/env")["process_api_host"] == "127.0.0.1"


def test_absolute_form_target_is_the_api_resource(srv):
    """RFC 9112 3.2.2: a server must accept a request target in
    absolute-form; it names the same resource as its path (the front end
    treats it so). It was answered 404."""
    with Held(srv) as h:
        body = envelope("gaelic_test", "Echo", b"\x08\x05", ticket=h.me["ticket"])
        target = "http://127.0.0.1:%d/rpc_http" % srv.api_port
        status, _, raw = post(srv.api_port, body, path=target)
        r = Reply(status, raw)
        assert r.kind == "ok" and r.response == b"\x08\x05", r
        status, headers, _ = post(srv.api_port, None, path=target, method="GET")
        assert status == 405 and headers.get("allow") == "POST", (status, headers)
        assert post(srv.api_port, body, path="http://127.0.0.1/other")[0] == 404
        h.release()


def test_head_answer_has_no_body(srv):
    """RFC 9110 9.3.2: the answer to a HEAD (405 or 404 here) has the head
    of the GET's, Content-Length included, and no content: its body would
    be read as the next pipelined request's answer."""
    with Conn(srv.api_port) as c:
        c.send(b"HEAD /rpc_http HTTP/1.1\r\nHost: x\r\n\r\n"
               b"HEAD /other HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET /rpc_http HTTP/1.1\r\nHost: x\r\n\r\n")
        h1 = c.read_response(head=True)
        h2 = c.read_response(head=True)
        g = c.read_response()
    assert (h1.status, h2.status, g.status) == (405, 404, 405), (h1, h2, g)
    assert h1.header("allow") == "POST"
    assert int(h1.header("content-length")) == len(g.body) > 0


def test_upgrade_request_is_answered_then_closed(srv):
    """A request asking to switch protocols gets its answer, without the
    switch, and then the connection closes: the parser reads nothing after
    it, and the bytes that followed once came back as a request the client
    never sent (answered 404, after a 405 that kept the connection)."""
    with Conn(srv.api_port) as c:
        c.send(b"GET /rpc_http HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\n"
               b"Upgrade: websocket\r\n\r\n"
               b"GET /rpc_http HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
        assert r.status == 405, r
        assert r.header("connection") == "close", r
        assert c.is_closed(), "the connection stayed open"
        assert c.buf == b"", c.buf


def test_malformed_body_is_bad_request(srv):
    # Empty (no required field), not protobuf, service_name a varint, no method.
    for body in (b"", b"\xff\xff\xff", b"\x10\x07\x1a\x01m\x22\x00",
                 b"\x12\x06system\x22\x00"):
        status, headers, raw = post(srv.api_port, body)
        r = Reply(status, raw)
        assert r.kind == "rpc" and r.code == BAD_REQUEST, (body, r)
        assert "%" not in r.detail
        assert headers["content-type"] == "application/octet-stream"


def test_unknown_fields_of_every_wire_type_are_skipped(srv):
    """As protobuf reads a message: in the envelope and in the request it
    carries, an unknown field is skipped whatever its wire type, a group
    (wire types 3 and 4, as in proto2's remote_api TransactionRequest)
    included."""
    unknown = (b"\x38\x05"  # 7: a varint
               + b"\x41" + b"\x00" * 8  # 8: a fixed64
               + b"\x4d\x01\x02\x03\x04"  # 9: a fixed32
               + b"\x53\x08\x01\x5b\x5c\x54")  # 10: a group holding 1: 1 and a group 11
    with Held(srv) as h:
        body = envelope("system", "GetSystemStats", unknown, ticket=h.me["ticket"]) + unknown
        status, _, raw = post(srv.api_port, body)
        assert stats_of(Reply(status, raw))["memory"]["current"] > 0
        # A group closed by another's end tag is no message.
        status, _, raw = post(srv.api_port, body + b"\x53\x5c")
        r = Reply(status, raw)
        assert r.kind == "rpc" and r.code == BAD_REQUEST, r


def test_body_over_the_limit_is_request_too_large(srv):
    with socket.create_connection((HOST, srv.api_port), timeout=HTTP_TIMEOUT) as s:
        s.sendall(b"POST /rpc_http HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                  % (64 << 20))
        data = b""
        for _ in range(1000):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), data
    assert b"connection: close" in head.lower()
    r = Reply(200, body)
    assert r.kind == "rpc" and r.code == REQUEST_TOO_LARGE, r


# ---------------------------------------------------------------- StartBackgroundRequest

def test_start_background_request_needs_a_backend(srv):
    with Held(srv) as h:
        r = call(srv.api_port, "system", "StartBackgroundRequest", ticket=h.me["ticket"])
        assert (r.kind, r.code) == ("app", BACKEND_REQUIRED), r
    # The same through the channel.
    out = get(srv, "/bg_channel?key=" + secrets.token_hex(4))
    assert out["error"]["code"] == BACKEND_REQUIRED, out


def test_start_background_request_runs_the_job_on_a_backend(srv):
    key = secrets.token_hex(6)
    with Held(srv, 0) as h:
        r = call(srv.api_port, "system", "StartBackgroundRequest", ticket=h.me["ticket"])
        assert r.kind == "ok", r
        request_id = request_id_of(r)
        assert re.fullmatch(r"[0-9a-f]{16}", request_id), request_id
        # The app hands its callable to that request (the SDK's second step).
        thread = get(srv, "/adopt?id=%s&key=%s" % (request_id, key), instance=0)["thread"]
    # The job records itself as it runs, on its own thread: wait for it (bounded).
    until = time.monotonic() + 15
    done = get(srv, "/done?key=" + key, instance=0)
    while not done and time.monotonic() < until:
        time.sleep(0.05)
        done = get(srv, "/done?key=" + key, instance=0)
    assert done == {"thread": thread, "path": "/_ah/background", "request": request_id,
                    "backend": "worker"}, done
    out = srv.wait_logs("/_ah/background HTTP/1.1\" 200", "--limit", "50")
    assert "/_ah/background HTTP/1.1\" 200" in out, out


def test_start_background_request_over_the_channel(srv):
    key = secrets.token_hex(6)
    out = get(srv, "/bg_channel?key=" + key, instance=0)
    assert re.fullmatch(r"[0-9a-f]{16}", out["id"]), out
    # The background request records itself as it runs: wait for it (bounded).
    until = time.monotonic() + 15
    done = get(srv, "/done?key=" + key, instance=0)
    while not done and time.monotonic() < until:
        time.sleep(0.05)
        done = get(srv, "/done?key=" + key, instance=0)
    assert done["thread"] == out["thread"] and done["request"] == out["id"], done


def _start_until_ok(srv, ticket, tries=100):
    """StartBackgroundRequest until a slot is free again (bounded)."""
    for _ in range(tries):
        r = call(srv.api_port, "system", "StartBackgroundRequest", ticket=ticket)
        if r.kind == "ok":
            return request_id_of(r)
        assert (r.kind, r.code) == ("app", LIMIT_REACHED), r
        time.sleep(0.1)
    raise AssertionError("no background slot freed up")


def idle(srv, instance):
    assert get(srv, "/idle", instance=instance) == {"requests": 0, "threads": 0}


def test_limit_reached_at_ten(srv):
    """Ten background requests on one instance; the eleventh is refused,
    and so is a background_thread; a slot frees when a request ends."""
    idle(srv, 1)
    ids = []
    with Held(srv, 1) as h:
        t = h.me["ticket"]
        try:
            for _ in range(10):
                r = call(srv.api_port, "system", "StartBackgroundRequest", ticket=t)
                assert r.kind == "ok", (len(ids), r)
                ids.append(request_id_of(r))
            assert len(set(ids)) == 10
            r = call(srv.api_port, "system", "StartBackgroundRequest", ticket=t)
            assert (r.kind, r.code) == ("app", LIMIT_REACHED), r
            assert "10" in r.detail
            out = get(srv, "/threads?n=1&key=none", instance=1)
            assert out == {"error": "BackgroundThreadLimitReachedError", "started": 0}, out
        finally:
            # Each request gets a job that ends at once: the slots free up.
            for request_id in ids:
                get(srv, "/adopt?id=%s&key=%s" % (request_id, request_id), instance=1)
        extra = _start_until_ok(srv, t)
        get(srv, "/adopt?id=%s&key=%s" % (extra, extra), instance=1)


def test_background_threads_and_requests_share_the_limit(srv):
    """Five background requests from the channel and five of gaelic's own
    background threads fill the instance's ten."""
    keys = [secrets.token_hex(6) for _ in range(5)]
    thread_key = secrets.token_hex(6)
    idle(srv, 0)
    try:
        for key in keys:
            out = get(srv, "/bg_channel?wait=1&key=" + key, instance=0)
            assert "id" in out, out
        out = get(srv, "/threads?n=6&key=" + thread_key, instance=0)
        assert out == {"error": "BackgroundThreadLimitReachedError", "started": 5}, out
        out = get(srv, "/bg_channel?key=" + secrets.token_hex(4), instance=0)
        assert out["error"]["code"] == LIMIT_REACHED, out
    finally:
        for key in keys + [thread_key]:
            release_key(srv, key, instance=0)
    with Held(srv, 0) as h:
        extra = _start_until_ok(srv, h.me["ticket"])
        get(srv, "/adopt?id=%s&key=%s" % (extra, extra), instance=0)


def test_unadopted_background_request_gives_up_at_shutdown(serve):
    """A background request nobody hands a job to does not hold the server
    up when it stops."""
    s = serve(APP, "--shutdown_timeout", "20")
    m = API_LINE_RE.search(s.stdout_text())
    api_port = int(m.group(1))
    with Held(s, 0) as h:
        r = call(api_port, "system", "StartBackgroundRequest", ticket=h.me["ticket"])
        assert r.kind == "ok", r
    assert s.stop() == 0, s.stderr_text()[-3000:]
    # It gave up waiting at the shutdown notice, and said so.
    assert "no callable was handed to it" in s.stderr_text(), s.stderr_text()[-3000:]
