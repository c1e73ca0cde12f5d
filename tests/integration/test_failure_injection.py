"""Failure injection against the master: clients that stop or leave at any
phase of a request, and apps that fail while answering. Whatever happens,
the master keeps serving and every request has one request log row with
the status the client got (or 499 when it left first)."""
import pytest

from harness import Conn, app_path, build_request


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
