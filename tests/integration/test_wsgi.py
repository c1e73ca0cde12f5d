"""WSGI handlers follow PEP 3333 (RT2): the environ, wsgi.* objects,
wsgiref.validate, start_response with exc_info, write(), close()."""
import json
import os

import pytest

from harness import (HOST, Conn, app_path, chunked, http_request, ipv6_dual_stack, ipv6_loopback,
                     write_app)


@pytest.fixture(scope="module")
def srv(mserve):
    return mserve(app_path("basic"))


def env_of(srv, method="GET", path="/env", headers=None, body=None):
    r = http_request(srv.port, method, path, headers, body)
    assert r.status == 200, (r, srv.stderr_text()[-2000:])
    return json.loads(r.body)


def test_get_environ(srv):
    d = env_of(srv, "GET", "/env/sub?a=1&b=two", [("X-Custom-Header", "custom value"),
                                                  ("User-Agent", "gaelic-tests/1.0")])
    e = d["environ"]
    assert e["REQUEST_METHOD"] == "GET"
    assert e["SCRIPT_NAME"] == ""
    assert e["PATH_INFO"] == "/env/sub"
    assert e["QUERY_STRING"] == "a=1&b=two"
    assert e["SERVER_NAME"] in (HOST, "localhost")
    assert e["SERVER_PORT"] == str(srv.port)
    assert e["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert e["HTTP_X_CUSTOM_HEADER"] == "custom value"
    assert e["HTTP_USER_AGENT"] == "gaelic-tests/1.0"
    assert e["HTTP_HOST"] == "%s:%d" % (HOST, srv.port)
    assert e.get("CONTENT_LENGTH", "") in ("", "0")
    assert e["REMOTE_ADDR"] == HOST


@pytest.mark.skipif(not ipv6_dual_stack(), reason="no dual-stack IPv6 here")
def test_ipv4_client_of_a_dual_stack_listener_has_its_ipv4_address(serve):
    """With --host :: an IPv4 client reaches the server as ::ffff:a.b.c.d;
    its REMOTE_ADDR (and request log) is a.b.c.d, as App Engine gave an
    IPv4 client's address, not the mapped IPv6 form."""
    s = serve(app_path("basic"), "--host", "::")
    e = env_of(s, "GET", "/env")["environ"]
    assert e["REMOTE_ADDR"] == HOST, e["REMOTE_ADDR"]
    assert s.wait_stderr(' INFO %s "GET /env ' % HOST), s.stderr_text()[-2000:]


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")
def test_server_name_of_an_ipv6_listener_without_host_is_in_brackets(serve):
    """An HTTP/1.0 request without Host gets the listening address as
    SERVER_NAME: an IPv6 one in brackets (RFC 3875 4.1.14), as a Host
    header has it, so that URLs built from it (wsgiref.util.request_uri,
    WebOb's host_url) are URLs."""
    s = serve(app_path("basic"), "--host", "::1")
    with Conn(s.port, host="::1") as c:
        c.send(b"GET /env HTTP/1.0\r\n\r\n")
        r = c.read_response()
    assert r.status == 200, r
    e = json.loads(r.body)["environ"]
    assert "HTTP_HOST" not in e
    assert e["SERVER_NAME"] == "[::1]", e["SERVER_NAME"]
    assert e["SERVER_PORT"] == str(s.port)


@pytest.mark.skipif(not ipv6_loopback() or not ipv6_dual_stack(),
                    reason="no dual-stack IPv6 loopback here")
def test_server_name_without_host_on_a_wildcard_listener_is_the_address_reached(serve):
    """With --host :: a request without Host gets as SERVER_NAME the
    address the client connected to, not '[::]', which names no host a
    client can reach (RFC 3875 4.1.14: the host the request is directed
    to)."""
    s = serve(app_path("basic"), "--host", "::")
    for addr, name in (("::1", "[::1]"), (HOST, HOST)):
        with Conn(s.port, host=addr) as c:
            c.send(b"GET /env HTTP/1.0\r\n\r\n")
            r = c.read_response()
        assert r.status == 200, r
        e = json.loads(r.body)["environ"]
        assert (e["SERVER_NAME"], e["SERVER_PORT"]) == (name, str(s.port)), (addr, e["SERVER_NAME"])


def test_post_environ(srv):
    body = b'{"k": 1}'
    d = env_of(srv, "POST", "/env", [("Content-Type", "application/json; charset=utf-8")], body)
    e = d["environ"]
    assert e["REQUEST_METHOD"] == "POST"
    assert e["CONTENT_TYPE"] == "application/json; charset=utf-8"
    assert e["CONTENT_LENGTH"] == str(len(body))
    assert "HTTP_CONTENT_TYPE" not in e
    assert "HTTP_CONTENT_LENGTH" not in e


def test_query_string_empty_but_present(srv):
    e = env_of(srv, "GET", "/env")["environ"]
    assert e["QUERY_STRING"] == ""


def test_environ_value_types(srv):
    d = env_of(srv)
    t = d["types"]
    for k, typ in t.items():
        if "." not in k:
            assert typ == "str", "environ[%r] is %s, PEP 3333 wants str" % (k, typ)
    assert t["wsgi.version"] == "tuple"
    assert t["wsgi.multithread"] == "bool"
    assert t["wsgi.multiprocess"] == "bool"
    assert t["wsgi.run_once"] == "bool"
    assert t["wsgi.url_scheme"] == "str"
    w = d["wsgi"]
    assert w["environ_is_dict"] is True
    assert w["version"] == [1, 0]
    assert w["url_scheme"] == "http"
    assert w["run_once"] is False
    assert w["multithread"] is True  # the basic app is threadsafe
    assert sorted(w["input"]) == sorted(["read", "readline", "readlines", "__iter__"])
    assert sorted(w["errors"]) == sorted(["write", "writelines", "flush"])


_TRANSLATED_APP = """\
import json
import os


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps([environ.get("PATH_TRANSLATED"),
                        os.environ.get("PATH_TRANSLATED")]).encode()]


class Holder:
    app = staticmethod(app)
"""


def test_path_translated_is_the_handler_module_file(serve, tmp_path):
    """App Engine's python27 runtime set PATH_TRANSLATED for WSGI handlers
    too (apps find files beside their code from it): the file of the last
    module on the handler's path, in the environ and in os.environ."""
    root = write_app(tmp_path / "app", """\
application: translated
version: v1
runtime: python27
api_version: 1
threadsafe: true
handlers:
- url: /main
  script: main.app
- url: /deep
  script: pkg.mod.Holder.app
""", {"main.py": _TRANSLATED_APP, "pkg/__init__.py": "", "pkg/mod.py": _TRANSLATED_APP})
    s = serve(root)
    for path, rel in [("/main", "main.py"), ("/deep", "pkg/mod.py")] * 2:  # loaded, then cached
        want = os.path.realpath(os.path.join(root, rel))
        got = s.get_json(path)
        assert [os.path.realpath(p or "") for p in got] == [want, want], (path, got)


def test_multithread_false_when_not_threadsafe(serve):
    s = serve(app_path("single"))
    w = s.get_json("/env")["wsgi"]
    assert w["multithread"] is False


def test_repeated_headers_combined_with_comma_space(srv):
    """Lines of one name are one variable, joined with ", " as App Engine's
    front end and dev_appserver's server joined them (an app splitting on
    ", " found each value); Cookie lines with "; ", a cookie string's own
    separator."""
    e = env_of(srv, "GET", "/env", [("X-Multi", "a"), ("Cookie", "c=1"), ("x-multi", "b"),
                                    ("X-MULTI", "c"), ("Cookie", "d=2")])["environ"]
    assert (e["HTTP_X_MULTI"], e["HTTP_COOKIE"]) == ("a, b, c", "c=1; d=2")


def test_header_with_dash_and_underscore(srv):
    """A dash becomes an underscore; a name with an underscore of its own is
    dropped, or "X_Dash_Name" could pass for (or be joined to) X-Dash-Name."""
    e = env_of(srv, "GET", "/env", [("X-Dash-Name", "dash"), ("X_Dash_Name", "spoof"),
                                    ("X_Only_Underscores", "u")])["environ"]
    assert e["HTTP_X_DASH_NAME"] == "dash"
    assert "HTTP_X_ONLY_UNDERSCORES" not in e


def test_proxy_header_dropped(srv):
    """httpoxy: a client's Proxy header would be HTTP_PROXY, the variable
    libraries read to pick a proxy for their own outgoing requests."""
    e = env_of(srv, "GET", "/env", [("Proxy", "http://127.0.0.1:9/"),
                                    ("Proxy-Foo", "kept")])["environ"]
    assert "HTTP_PROXY" not in e
    assert e["HTTP_PROXY_FOO"] == "kept"


def test_hop_by_hop_and_encoding_request_headers_never_reach_the_app(srv):
    """As App Engine (and dev_appserver's request rewriter) removed them:
    the front end's own hop-by-hop fields, the proxy's credentials and
    Accept-Encoding (the server compresses, RT6) are not the app's."""
    sent = [("Accept-Encoding", "gzip"), ("Keep-Alive", "timeout=5"), ("TE", "trailers"),
            ("Trailer", "X-Sum"), ("Proxy-Authorization", "Basic eDp5"),
            ("Connection", "keep-alive, TE"), ("Transfer-Encoding", "chunked"),
            ("X-Kept", "yes")]
    with Conn(srv.port) as c:
        c.request("POST", "/env", sent, chunked(b"ab", b"c"))
        r = c.read_response()
    assert r.status == 200, r
    e = json.loads(r.body)["environ"]
    for name in ("ACCEPT_ENCODING", "KEEP_ALIVE", "TE", "TRAILER", "PROXY_AUTHORIZATION",
                 "CONNECTION", "TRANSFER_ENCODING"):
        assert "HTTP_" + name not in e, (name, e)
    assert (e["HTTP_X_KEPT"], e["CONTENT_LENGTH"]) == ("yes", "3")


def test_fields_the_connection_header_names_never_reach_the_app(srv):
    """A Connection header's options name fields for the client's own
    connection (RFC 9110 7.6.1): a gateway does not forward them, and App
    Engine's front end did not. Other lines of the name go too; fields
    merely beginning alike stay."""
    sent = [("Connection", "keep-alive, X-Token"), ("X-Token", "secret"),
            ("Connection", " x-hop ,,"), ("X-Hop", "1"), ("X-Hop", "2"),
            ("X-Token-Kept", "yes"), ("X-Other", "kept")]
    e = env_of(srv, "GET", "/env", sent)["environ"]
    assert "HTTP_X_TOKEN" not in e and "HTTP_X_HOP" not in e, e
    assert (e["HTTP_X_TOKEN_KEPT"], e["HTTP_X_OTHER"]) == ("yes", "kept")


def test_a_connection_header_repeating_names_drops_each_of_them(srv):
    """A Connection header may name a field many times over (a 64 KB head
    holds thousands of repeats): the master marks a name's lines once and
    skips its repeats, which still drop nothing else and miss no other
    name, whatever their case or place among the repeats."""
    options = ", ".join(["x-many", "X-MANY"] * 500 + ["x-late"] + ["x-Many"] * 500)
    sent = ([("X-Many", str(i)) for i in range(300)] +
            [("Connection", options), ("X-Late", "1"), ("X-Manyfold", "kept")])
    e = env_of(srv, "GET", "/env", sent)["environ"]
    assert "HTTP_X_MANY" not in e and "HTTP_X_LATE" not in e, sorted(e)
    assert e["HTTP_X_MANYFOLD"] == "kept"


def test_google_reserved_request_headers_never_reach_the_app(srv):
    """App Engine removed a client's X-Google-* headers (a name pattern
    reserved for Google's front end, which apps may trust) as it removed
    X-AppEngine-* ones; names merely starting alike stay."""
    e = env_of(srv, "GET", "/env", [("X-Google-Apps-Metadata", "domain=evil.example"),
                                    ("x-google-foo", "1"), ("X-Googlebot", "kept"),
                                    ("X-Google", "kept too")])["environ"]
    assert "HTTP_X_GOOGLE_APPS_METADATA" not in e
    assert "HTTP_X_GOOGLE_FOO" not in e
    assert e["HTTP_X_GOOGLEBOT"] == "kept"
    assert e["HTTP_X_GOOGLE"] == "kept too"


def test_chunked_request_gets_content_length(srv):
    parts = [b"abc", b"defgh"]
    with Conn(srv.port) as c:
        c.request("POST", "/echo", [("Transfer-Encoding", "chunked"),
                                    ("Content-Type", "text/plain")], chunked(*parts))
        r = c.read_response()
    assert r.status == 200
    assert r.body == b"abcdefgh"
    # the body is buffered and de-chunked, so the app sees its length
    assert r.header("x-env-content-length") == "8"
    assert r.header("x-env-content-type") == "text/plain"


def test_empty_chunked_request_gets_content_length_zero(srv):
    """An empty chunked body is de-chunked like any other: the app, which
    never sees the Transfer-Encoding, learns its length, 0."""
    with Conn(srv.port) as c:
        c.request("POST", "/echo", [("Transfer-Encoding", "chunked")], chunked())
        r = c.read_response()
    assert r.status == 200
    assert r.body == b""
    assert r.header("x-env-content-length") == "0"


# ---------------------------------------------------------------- validator

@pytest.fixture(scope="module")
def vsrv(mserve):
    return mserve(app_path("validated"))


def test_validator_get(vsrv):
    r = http_request(vsrv.port, "GET", "/validated/get?x=1")
    assert r.status == 200, (r, vsrv.stderr_text()[-3000:])
    assert r.body == b"method=GET\nbody=\nok"


def test_validator_post(vsrv):
    body = b"line one\nline two\n"
    r = http_request(vsrv.port, "POST", "/validated/post",
                     [("Content-Type", "text/plain")], body)
    assert r.status == 200, (r, vsrv.stderr_text()[-3000:])
    assert r.body == b"method=POST\nbody=" + body + b"\nok"


def test_validator_head(vsrv):
    with Conn(vsrv.port) as c:
        c.request("HEAD", "/validated/head")
        r = c.read_response(head=True)
    assert r.status == 200, (r, vsrv.stderr_text()[-3000:])


def test_validator_post_chunked(vsrv):
    body = b"first\nsecond"
    with Conn(vsrv.port) as c:
        c.request("POST", "/v", [("Transfer-Encoding", "chunked"), ("Content-Type", "text/plain")],
                  chunked(body[:4], body[4:]))
        r = c.read_response()
    assert r.status == 200, (r, vsrv.stderr_text()[-3000:])
    assert r.body == b"method=POST\nbody=" + body + b"\nok"


# ---------------------------------------------------------------- app side

def test_start_response_exc_info_replaces_status(srv):
    r = http_request(srv.port, "GET", "/exc_info")
    assert r.status == 503
    assert r.header("x-recovered") == "yes"
    assert r.body == b"recovered: boom"


def test_start_response_takes_peps_parameter_names_as_keywords(srv):
    """status, response_headers and exc_info, as PEP 3333 names them and
    App Engine's runtime took them."""
    r = http_request(srv.port, "GET", "/keywords")
    assert (r.status, r.header("x-keywords"), r.body) == (202, "yes", b"keywords"), r


def test_write_callable(srv):
    r = http_request(srv.port, "GET", "/write")
    assert r.status == 200
    assert r.body == b"part1;part2;part3"


def test_write_after_the_body_is_complete_raises(srv):
    """The body is collected once the iterable is exhausted: a write() after
    that (from a thread the request started, which is joined later) cannot
    be part of the response, and must say so rather than vanish."""
    since = len(srv.stderr_text())
    r = http_request(srv.port, "GET", "/late_write")
    assert (r.status, r.body) == (200, b"main;"), r
    assert srv.wait_stderr("late_write: ", since=since), srv.stderr_text()[since:]
    said = srv.stderr_text()[since:]
    assert "late_write: accepted" not in said, said
    assert "late_write: AssertionError: write() called after" in said, said


def test_iterable_close_called(srv):
    before = srv.get_json("/closed_count")
    r = http_request(srv.port, "GET", "/closing")
    assert r.status == 200 and r.body == b"closing body"
    after = srv.get_json("/closed_count")
    assert after["instance_id"] == before["instance_id"], "requests moved to another instance"
    assert after["closed"] == before["closed"] + 1


def test_generator_body(srv):
    r = http_request(srv.port, "GET", "/stream")
    assert r.status == 200
    assert r.body == b"first;second"


def test_non_ascii_path_latin1_decoded(srv):
    # café, percent-encoded UTF-8: PATH_INFO holds the decoded bytes as latin-1
    r = http_request(srv.port, "GET", "/path/caf%C3%A9/%E2%82%AC")
    assert r.status == 200
    assert r.body == "/path/café/€".encode("utf-8")


def test_raw_non_ascii_path_bytes(srv):
    with Conn(srv.port) as c:
        c.send(b"GET /path/caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
    # raw bytes >= 0x80 are not valid in a request target; refusing is fine,
    # but if served, PATH_INFO must hold them latin-1-decoded
    assert r.status in (200, 400), r
    if r.status == 200:
        assert r.body == b"/path/caf\xc3\xa9"


def test_non_ascii_header_value_latin1_decoded(srv):
    with Conn(srv.port) as c:
        c.send(b"GET /env HTTP/1.1\r\nHost: x\r\nX-Latin: caf\xe9\r\n\r\n")
        r = c.read_response()
    assert r.status == 200, r
    assert json.loads(r.body)["environ"]["HTTP_X_LATIN"] == "caf\xe9"


def test_percent_decoding_of_path_but_not_query(srv):
    r = http_request(srv.port, "GET", "/path/a%20b%3Fc?q=a%20b&r=%C3%A9")
    assert r.status == 200
    assert r.body == b"/path/a b?c"
    assert r.header("x-query") == "q=a%20b&r=%C3%A9"


def test_invalid_escape_kept_and_nul_refused_in_path(srv):
    """An invalid escape stays as sent in PATH_INFO; an escaped NUL is a
    400, as nginx answers it: handlers match the decoded path, and a NUL
    would cut the script or file name built from it."""
    r = http_request(srv.port, "GET", "/path/a%zz%2")
    assert (r.status, r.body) == (200, b"/path/a%zz%2")
    r = http_request(srv.port, "GET", "/path/a%00.py")
    assert r.status == 400, r


def test_uncaught_exception_is_500_and_instance_survives(srv):
    before = srv.get_json("/counter")
    r = http_request(srv.port, "GET", "/raise")
    assert r.status == 500
    after = srv.get_json("/counter")
    assert after["instance_id"] == before["instance_id"]
    assert after["count"] == before["count"] + 1


def test_wrong_content_length_from_app_never_reaches_the_wire(srv):
    with Conn(srv.port) as c:
        c.request("GET", "/wrong_length")
        r = c.read_response(timeout=5)
        assert r.status in (200, 500), r
        if r.status == 200:
            assert r.header("content-length") == str(len(r.body)) == "10", r
        c.request("GET", "/path/next")
        assert c.read_response(timeout=5).body == b"/path/next"


def test_hop_by_hop_headers_of_the_app_are_dropped(srv):
    """As App Engine did: the response is sent without them (no 500), and
    the app's Connection: close does not close the client's connection."""
    with Conn(srv.port) as c:
        for _ in range(2):  # the second passes the runtime's valid-pair cache
            c.request("GET", "/hop_by_hop")
            r = c.read_response(timeout=5)
            assert (r.status, r.body, r.header("x-kept")) == (200, b"hop by hop", "yes"), r
            for name in ("connection", "keep-alive", "transfer-encoding", "upgrade",
                         "proxy-authenticate", "proxy-authorization", "trailer"):
                assert r.header(name) is None, (name, r)
        c.request("GET", "/path/next")
        assert c.read_response(timeout=5).body == b"/path/next"


def test_statuses_and_headers_checked_on_every_response(srv):
    """The runtime remembers statuses and header pairs it found valid: a
    bad one must still fail each time, between good ones that pass."""
    cases = [("status=302+Found&location=/ok", 302), ("status=302+Found&location=/a%01b", 500),
             ("status=2x0+OK", 500), ("status=302+Found&location=/ok", 302),
             ("status=302+Found&location=/a%01b", 500), ("status=2x0+OK", 500),
             ("status=299+Fine", 299)]
    for query, want in cases:
        r = http_request(srv.port, "GET", "/status?" + query)
        assert r.status == want, (query, r)


def test_status_with_an_empty_reason_phrase(srv):
    """PEP 3333's status is a code, a space and a reason phrase, which
    HTTP lets be empty; wsgiref.validate passes "299 " without a word."""
    r = http_request(srv.port, "GET", "/status?status=299+&body=fine")
    assert (r.status, r.reason, r.body) == (299, "", b"fine"), r
    assert r.raw_head.startswith(b"HTTP/1.1 299 \r\n"), r.raw_head


@pytest.mark.parametrize("status,code,reason", [("404", 404, "Not Found"), ("201", 201, "Created"),
                                                ("600", 500, "Internal Server Error"),
                                                ("42", 500, "Internal Server Error")])
def test_status_code_alone_gets_its_reason_phrase(srv, status, code, reason):
    """App Engine's runtime took a status of the code alone (the front end
    wrote the phrase), as a CGI script's "Status: 404" is taken; still
    200-599 only."""
    r = http_request(srv.port, "GET", "/status?status=" + status)
    assert (r.status, r.reason) == (code, reason), r


def test_headers_changed_after_start_response_are_checked(srv):
    """The list is the app's: what it holds at the end is what is sent, so
    a header added after start_response is checked too."""
    r = http_request(srv.port, "GET", "/late_header?v=fine")
    assert (r.status, r.header("x-late"), r.body) == (200, "fine", b"late header"), r
    for v in ("a%01b", "a%7Fb", "a%0D%0AX-Injected:%201"):
        r = http_request(srv.port, "GET", "/late_header?v=" + v)
        assert r.status == 500, (v, r)
        assert r.header("x-late") is None and r.header("x-injected") is None, r


@pytest.mark.parametrize("page", ["str_body", "no_start", "start_twice", "bad_status"])
def test_app_breaking_pep3333_gets_500(srv, page):
    before = srv.get_json("/counter")
    r = http_request(srv.port, "GET", "/" + page)
    assert r.status == 500, r
    after = srv.get_json("/counter")
    assert after["count"] == before["count"] + 1
