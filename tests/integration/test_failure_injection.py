"""Failure injection against the master: clients that stop or leave at any
phase of a request, and apps that fail while answering. Whatever happens,
the master keeps serving and every request has one request log row with
the status the client got (or 499 when it left first)."""
import socket

import pytest

from harness import Conn, app_path, build_request, http_request


@pytest.fixture
def srv(serve):
    return serve(app_path("basic"), "--body_timeout", "1")


def test_request_whose_body_never_comes_is_logged_as_408(srv):
    """A request whose head came but whose body stopped coming gets its
    408 and, like one refused with a 413 at its head, a request log row:
    before, it had the answer but no row."""
    before = set(srv.log_rows("/echo?stalled-body")[0])
    with Conn(srv.port) as c:
        c.send(build_request("POST", "/echo?stalled-body", [("Content-Length", "100")],
                             port=srv.port) + b"only ten b")
        r = c.read_response()
    assert r.status == 408, r
    rows, out = srv.wait_new_log_rows("/echo?stalled-body", before, lambda rows: rows)
    assert [(row["method"], row["status"], row["response_size"]) for row in rows] == \
        [("POST", 408, len(r.body))], out


@pytest.mark.parametrize("how", ["close", "reset", "half-close", "chunked", "continue"])
def test_client_gone_before_its_body_came_is_logged_as_499(srv, how):
    """A client that leaves in the middle of its request body (closing,
    resetting, half-closing; with a chunked body; after a 100 Continue)
    left a request the server had read the head of: it has its row, 499
    as for one that leaves while it waits or runs. Before, it had none."""
    resource = "/echo?gone-" + how
    before = set(srv.log_rows(resource)[0])
    if how == "chunked":
        headers, sent = [("Transfer-Encoding", "chunked")], b"64\r\n" + b"c" * 10
    elif how == "continue":
        headers, sent = [("Content-Length", "100"), ("Expect", "100-continue")], b""
    else:
        headers, sent = [("Content-Length", "100")], b"only ten b"
    c = Conn(srv.port)
    c.send(build_request("POST", resource, headers, port=srv.port) + sent)
    if how == "continue":
        assert c.read_response().status == 100
    else:
        # The server has read the head once an OPTIONS * sent after it on
        # another connection is answered: its one loop reads in arrival
        # order. A reset before that would take the head away unread.
        assert http_request(srv.port, "OPTIONS", "*").status == 200
    if how == "reset":
        c.reset()
    elif how == "half-close":
        c.sock.shutdown(socket.SHUT_WR)
        assert c.is_closed(), "a body that can no longer come was waited for"
        c.close()
    else:
        c.close()
    rows, out = srv.wait_new_log_rows(resource, before, lambda rows: rows)
    assert [(row["method"], row["status"], row["response_size"]) for row in rows] == \
        [("POST", 499, 0)], out
    assert srv.get("/echo").status_code == 200
