"""app.yaml handlers (RT1): ordered, anchored url patterns, `\\1` group
substitution into WSGI object paths, 404 when nothing matches."""
import pytest

from harness import app_path, http_request


@pytest.fixture(scope="module")
def srv(mserve):
    return mserve(app_path("routing"))


@pytest.mark.parametrize("path,status,body", [
    ("/exact", 200, b"first /exact"),              # first match wins
    ("/exactly", 200, b"second /exactly"),         # /exact is anchored at the end
    ("/exact/more", 200, b"second /exact/more"),
    ("/sub/alpha/x", 200, b"alpha /sub/alpha/x"),  # \1 picks the module
    ("/sub/beta/y/z", 200, b"beta /sub/beta/y/z"),
    ("/pkg/gamma", 200, b"handlers.gamma /pkg/gamma"),
    ("/any/thing", 200, b"first /any/thing"),
    ("/sub/gamma/x", 404, None),                   # no pattern matches
    ("/prefix/exact", 404, None),                  # anchored at the start too
    ("/", 404, None),
])
def test_route(srv, path, status, body):
    r = http_request(srv.port, "GET", path)
    assert r.status == status, (path, r)
    if body is not None:
        assert r.body == body


def test_query_string_is_not_part_of_the_match(srv):
    r = http_request(srv.port, "GET", "/exact?x=/sub/alpha/")
    assert r.status == 200
    assert r.body == b"first /exact"


def test_substituted_module_that_does_not_exist_is_500(srv):
    r = http_request(srv.port, "GET", "/pkg/nosuchmodule")
    assert r.status == 500, r
    assert http_request(srv.port, "GET", "/exact").status == 200
