"""secure: always|never on handlers (RT1): plain-HTTP requests to `always`
handlers are redirected to https://, HTTPS requests to `never` handlers to
http://. A request counts as HTTPS only when a --trusted_proxy peer says
so in X-Forwarded-Proto."""
import json
import re

import pytest

from harness import (HOST, Conn, app_path, http_request, ipv6_dual_stack, ipv6_loopback, run_gaelic,
                     write_app)

HTTPS = [("X-Forwarded-Proto", "https")]


@pytest.fixture(scope="module")
def plain(mserve):
    """No trusted proxy: every request is plain HTTP."""
    return mserve(app_path("secure"))


@pytest.fixture(scope="module")
def proxied(mserve):
    """The test client (127.0.0.1) is the trusted front proxy."""
    return mserve(app_path("secure"), "--trusted_proxy", "::1,127.0.0.1")


def host(srv):
    return "127.0.0.1:%d" % srv.port


def echo(r):
    assert r.status == 200, r
    return json.loads(r.body)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_always_redirects_get_and_head_with_302(plain, method):
    r = http_request(plain.port, method, "/always/x/y?a=1&b=%20")
    assert r.status == 302, r
    assert r.header("Location") == "https://%s/always/x/y?a=1&b=%%20" % host(plain)
    assert r.header("Content-Length") == "0"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_always_redirects_other_methods_with_307(plain, method):
    r = http_request(plain.port, method, "/always/form", body=b"field=1")
    assert r.status == 307, r
    assert r.header("Location") == "https://%s/always/form" % host(plain)


def test_keep_alive_goes_on_after_a_redirect(plain):
    with Conn(plain.port) as c:
        c.request("POST", "/always/a", body=b"x" * 100)
        assert c.read_response().status == 307
        c.request("GET", "/optional")
        assert echo(c.read_response())["path"] == "/optional"


def test_forwarded_proto_ignored_without_trusted_proxy(plain):
    r = http_request(plain.port, "GET", "/always/x", headers=HTTPS)
    assert r.status == 302 and r.header("Location").startswith("https://"), r
    assert echo(http_request(plain.port, "GET", "/never/x", headers=HTTPS))["path"] == "/never/x"


def test_forwarded_proto_ignored_from_an_untrusted_peer(serve):
    s = serve(app_path("secure"), "--trusted_proxy", "10.1.2.3")
    r = http_request(s.port, "GET", "/always/x", headers=HTTPS)
    assert r.status == 302, r


def test_trusted_https_request_served(proxied):
    got = echo(http_request(proxied.port, "POST", "/always/x?q=1", headers=HTTPS, body=b"data"))
    assert got == {"method": "POST", "path": "/always/x", "query": "q=1", "body": "data"}


def test_never_redirects_https_to_http(proxied):
    r = http_request(proxied.port, "GET", "/never/p?k=v", headers=HTTPS)
    assert r.status == 302, r
    assert r.header("Location") == "http://%s/never/p?k=v" % host(proxied)
    assert echo(http_request(proxied.port, "GET", "/never/p"))["path"] == "/never/p"


@pytest.mark.parametrize("proto", ["https", "http"])
def test_optional_serves_both(proxied, proto):
    r = http_request(proxied.port, "GET", "/optional", headers=[("X-Forwarded-Proto", proto)])
    assert echo(r)["path"] == "/optional"


def test_the_nearest_proxy_value_counts(proxied):
    # A client-sent value comes first; the trusted proxy appended "http".
    r = http_request(proxied.port, "GET", "/always/x",
                     headers=[("X-Forwarded-Proto", "https, http")])
    assert r.status == 302, r


def test_static_handler(plain, proxied):
    r = http_request(plain.port, "GET", "/always/static")
    assert r.status == 302 and r.header("Location") == "https://%s/always/static" % host(plain)
    r = http_request(proxied.port, "GET", "/always/static", headers=HTTPS)
    assert r.status == 200 and r.body == b"static page\n", r


def test_secure_comes_before_login(plain, proxied):
    r = http_request(plain.port, "GET", "/always/login")
    assert r.status == 302 and r.header("Location") == "https://%s/always/login" % host(plain)
    r = http_request(proxied.port, "GET", "/always/login", headers=HTTPS)
    assert r.status == 302 and r.header("Location").startswith("/_ah/login?continue="), r


def test_location_keeps_a_plain_host(plain):
    r = http_request(plain.port, "GET", "/always/h", headers=[("Host", "example.com:8443")])
    assert r.header("Location") == "https://example.com:8443/always/h"


@pytest.mark.parametrize("unusable_host", [":80", "evil.com;y"])
def test_location_without_a_plain_host_names_the_server(plain, unusable_host):
    # The front end takes a port alone and sub-delims; neither goes into a Location.
    r = http_request(plain.port, "GET", "/always/h", headers=[("Host", unusable_host)])
    assert r.status == 302 and r.header("Location") == "https://%s/always/h" % host(plain), r


@pytest.mark.parametrize("bad_host", ["evil.com/path", "user@evil.com", "a b", "x\"y"])
def test_location_never_takes_a_bad_host(plain, bad_host):
    # RFC 9112 3.2: a Host that is not host[:port] is refused before routing.
    r = http_request(plain.port, "GET", "/always/h", headers=[("Host", bad_host)])
    assert r.status == 400, r
    assert r.header("Location") is None


@pytest.mark.skipif(not ipv6_loopback() or not ipv6_dual_stack(),
                    reason="no dual-stack IPv6 loopback here")
def test_location_without_a_usable_host_names_the_address_reached(serve):
    """With --host :: a Location the Host cannot give (none in HTTP/1.0, or
    one with a zone id) names the address the client connected to, in
    brackets when IPv6, never the wildcard '[::]' no client can reach."""
    s = serve(app_path("secure"), "--host", "::")
    for addr, hostport in (("::1", "[::1]:%d" % s.port), (HOST, "%s:%d" % (HOST, s.port))):
        for raw, location in (
                (b"GET /always/x?a=1 HTTP/1.0\r\n\r\n", "https://%s/always/x?a=1" % hostport),
                (b"GET /always/x HTTP/1.1\r\nHost: [fe80::1%25lo]\r\nConnection: close\r\n\r\n",
                 "https://%s/always/x" % hostport),
                (b"GET /a/../always HTTP/1.0\r\n\r\n", "http://%s/always" % hostport)):
            with Conn(s.port, host=addr) as c:
                c.send(raw)
                r = c.read_response()
            assert r.status == 302 and r.header("Location") == location, (addr, raw, r)


@pytest.mark.skipif(not ipv6_loopback() or not ipv6_dual_stack(),
                    reason="no dual-stack IPv6 loopback here")
def test_trusted_proxy_is_matched_by_address_whatever_its_family(serve):
    """On a dual-stack listener an IPv6 proxy (::1) is trusted by its
    address; an IPv4 client, which arrives as ::ffff:127.0.0.1, is matched
    as 127.0.0.1 (here listed in its mapped form) and not as ::1, and the
    one not listed cannot make its request HTTPS nor change REMOTE_ADDR."""
    s = serve(app_path("secure"), "--host", "::", "--trusted_proxy", "::1")
    t = serve(app_path("secure"), "--host", "::", "--trusted_proxy", "::ffff:127.0.0.1")
    raw = (b"GET /always/x HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https\r\n"
           b"X-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n\r\n")
    for srv, addr, https in ((s, "::1", True), (s, HOST, False), (t, HOST, True), (t, "::1", False)):
        with Conn(srv.port, host=addr) as c:
            c.send(raw)
            r = c.read_response()
        if https:
            assert r.status == 200, (addr, r)
        else:
            assert r.status == 302 and r.header("Location") == "https://a/always/x", (addr, r)
        # The console names the client as the request log does: the one
        # a trusted proxy forwarded.
        client = "203.0.113.9" if https else addr
        assert srv.wait_stderr(' INFO %s "GET /always/x HTTP/1.1" %d ' % (client, r.status)), addr


def test_header_injection_through_host_refused(plain):
    with Conn(plain.port) as c:
        c.send("GET /always/h HTTP/1.1\r\nHost: a\rSet-Cookie: x=1\r\n\r\n")
        r = c.read_response()
    assert r.status == 400 and r.header("Set-Cookie") is None, r


def test_bad_trusted_proxy_is_a_usage_error():
    r = run_gaelic("serve", app_path("secure"), "--port", "0", "--trusted_proxy", "localhost")
    assert r.returncode == 2
    assert "--trusted_proxy" in r.stderr and "'localhost'" in r.stderr


SCHEME_MAIN = """import json, os
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"HTTPS": environ.get("HTTPS"), "os_HTTPS": os.environ.get("HTTPS"),
                        "url_scheme": environ["wsgi.url_scheme"]}).encode()]
"""


@pytest.mark.parametrize("trusted,proto,https", [
    (True, "https", True),
    (True, "http", False),
    (False, "https", False),  # anyone can send the header
])
def test_app_sees_the_scheme_the_server_saw(serve, tmp_path, trusted, proto, https):
    """A request the server takes for HTTPS (a trusted proxy says so) is
    HTTPS to the app too, as on App Engine: HTTPS=on and wsgi.url_scheme
    https, or the app builds http:// URLs (and secure: always handlers
    send them back to https://)."""
    d = write_app(tmp_path / "scheme", "runtime: python27\napi_version: 1\nthreadsafe: true\n"
                  "handlers:\n- url: /.*\n  script: main.app\n", {"main.py": SCHEME_MAIN})
    s = serve(d, *(["--trusted_proxy", "::1,127.0.0.1"] if trusted else []))
    got = echo(http_request(s.port, "GET", "/", headers=[("X-Forwarded-Proto", proto)]))
    want = "on" if https else "off"
    assert got == {"HTTPS": want, "os_HTTPS": want,
                   "url_scheme": "https" if https else "http"}, got


CLIENT_ADDRESS_APP = {"main.py": '''import json, os
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps([environ["REMOTE_ADDR"], os.environ["REMOTE_ADDR"]]).encode()]
'''}
CLIENT_ADDRESS_YAML = ("application: clientaddr\nruntime: python27\napi_version: 1\n"
                       "threadsafe: true\nhandlers:\n- url: /.*\n  script: main.app\n")


@pytest.mark.parametrize("forwarded,remote_addr", [
    # The proxy appends the address it was reached from: the last one.
    ([("X-Forwarded-For", "203.0.113.9")], "203.0.113.9"),
    ([("X-Forwarded-For", "10.0.0.1, 198.51.100.7 ")], "198.51.100.7"),
    ([("X-Forwarded-For", "10.0.0.1"), ("X-Forwarded-For", "2001:db8::5")], "2001:db8::5"),
    # What is no address (a port, a name, nothing) says nothing.
    ([("X-Forwarded-For", "198.51.100.7:4711")], "127.0.0.1"),
    ([("X-Forwarded-For", "unknown")], "127.0.0.1"),
    ([("X-Forwarded-For", "10.0.0.1,")], "127.0.0.1"),
    ([], "127.0.0.1"),
])
def test_remote_addr_behind_a_trusted_proxy_is_the_client_it_forwards(serve, tmp_path, forwarded,
                                                                       remote_addr):
    """On App Engine REMOTE_ADDR (and the request log's ip) was the
    client's address. Behind a --trusted_proxy, the client is the address
    that proxy appended to X-Forwarded-For, not the proxy itself."""
    s = serve(write_app(tmp_path / "app", CLIENT_ADDRESS_YAML, CLIENT_ADDRESS_APP),
              "--trusted_proxy", "127.0.0.1")
    r = http_request(s.port, "GET", "/", headers=forwarded)
    assert json.loads(r.body) == [remote_addr, remote_addr], r
    out = s.wait_logs('"ip":"%s"' % remote_addr, "--json")
    assert '"ip":"%s"' % remote_addr in out, out
    # The console's request line names the same client.
    assert re.search(r'INFO %s "GET / HTTP/1.1" 200 ' % re.escape(remote_addr),
                     s.stderr_text()), s.stderr_text()


def test_forwarded_for_from_an_untrusted_peer_is_only_a_header(serve, tmp_path):
    s = serve(write_app(tmp_path / "app", CLIENT_ADDRESS_YAML, CLIENT_ADDRESS_APP),
              "--trusted_proxy", "10.1.2.3")
    r = http_request(s.port, "GET", "/", headers=[("X-Forwarded-For", "203.0.113.9")])
    assert json.loads(r.body) == ["127.0.0.1", "127.0.0.1"], r


FORWARDED_APP = {"main.py": '''import json, os
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    names = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO")
    return [json.dumps([[environ.get(n) for n in names],
                        [os.environ.get(n) for n in names]]).encode()]
'''}


@pytest.mark.parametrize("sent,forwarded_for", [
    ([], "127.0.0.1"),
    ([("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Proto", "https")],
     "203.0.113.9, 127.0.0.1"),
    ([("X-Forwarded-For", "10.0.0.1, 203.0.113.9"), ("X-Forwarded-For", "")],
     "10.0.0.1, 203.0.113.9, 127.0.0.1"),
])
def test_front_end_appends_the_client_to_forwarded_for_and_says_the_scheme(serve, tmp_path, sent,
                                                                         forwarded_for):
    """As App Engine's front end (and any proxy) told the app behind it:
    X-Forwarded-For with the address the request came from appended, and
    X-Forwarded-Proto the scheme it came by. A client's own
    X-Forwarded-Proto: https would otherwise pass for HTTPS to apps that
    trust the header (werkzeug's ProxyFix, Django's SECURE_PROXY_SSL_HEADER)."""
    s = serve(write_app(tmp_path / "app", CLIENT_ADDRESS_YAML, FORWARDED_APP))
    r = http_request(s.port, "GET", "/", headers=sent)
    want = [forwarded_for, "http"]
    assert json.loads(r.body) == [want, want], r


def test_a_trusted_proxy_s_forwarded_headers_reach_the_app_as_it_sent_them(serve, tmp_path):
    s = serve(write_app(tmp_path / "app", CLIENT_ADDRESS_YAML, FORWARDED_APP),
              "--trusted_proxy", "127.0.0.1")
    r = http_request(s.port, "GET", "/", headers=[("X-Forwarded-For", "198.51.100.7"),
                                                  ("X-Forwarded-Proto", "https")])
    want = ["198.51.100.7", "https"]
    assert json.loads(r.body) == [want, want], r
