"""Responses (RT6): buffered and sent whole, gzip when the client asks for it
in both Accept-Encoding and User-Agent; size limits (RT10)."""
import email.utils
import gzip
import hashlib
import os
import random
import re
import select
import shutil
import signal
import stat
import time

import pytest

import harness
from harness import REPO, Conn, app_path, build_request, get_head_next, http_request, quote

GZIP_UA = "Mozilla/5.0 (X11; Linux x86_64) (gzip)"
PLAIN_UA = "Mozilla/5.0 (X11; Linux x86_64)"


@pytest.fixture(scope="module")
def srv(mserve):
    return mserve(app_path("basic"))


def expected_bytes(n):
    unit = b"gaelic 0123456789 abcdefghijklmnopqrstuvwxyz\n"
    return (unit * (n // len(unit) + 1))[:n]


def get(srv, path, ae=None, ua=None):
    hdrs = []
    if ae is not None:
        hdrs.append(("Accept-Encoding", ae))
    if ua is not None:
        hdrs.append(("User-Agent", ua))
    return http_request(srv.port, "GET", path, hdrs)


@pytest.mark.parametrize("ct", ["text/html", "text/plain; charset=utf-8", "application/json"])
def test_gzip_when_both_headers_say_gzip(srv, ct):
    r = get(srv, "/bytes?n=20000&ct=" + ct.replace(" ", "%20").replace(";", "%3B"),
            ae="gzip, deflate", ua=GZIP_UA)
    assert r.status == 200
    assert r.header("content-encoding") == "gzip", r.headers
    assert int(r.header("content-length")) == len(r.body)
    assert len(r.body) < 20000
    assert gzip.decompress(r.body) == expected_bytes(20000)
    assert r.header("content-type") == ct


@pytest.mark.parametrize("ae", ["x-gzip", "deflate, X-GZIP;q=0.5"])
def test_x_gzip_is_gzip(srv, ae):
    """x-gzip is gzip's old name (RFC 9110 8.4.1.3): a client that asks
    for it gets gzip, as it would with "gzip"."""
    r = get(srv, "/bytes?n=20000&ct=text/html", ae=ae, ua=GZIP_UA)
    assert (r.status, r.header("content-encoding")) == (200, "gzip"), r.headers
    assert gzip.decompress(r.body) == expected_bytes(20000)


@pytest.mark.parametrize("ct,ae,ua", [
    ("text/html", "gzip", PLAIN_UA),        # only Accept-Encoding says gzip
    ("text/html", "identity", GZIP_UA),     # only User-Agent says gzip
    ("text/html", None, None),              # neither header
    ("image/png", "gzip", GZIP_UA),         # not a compressible type
    ("text/html", "gzip;q=0", GZIP_UA),     # gzip refused (RFC 9110 12.5.3)
    ("text/html", "br, gzip ; q=0.000", GZIP_UA),
    ("text/html", "x-gzip;q=0", GZIP_UA),
])
def test_no_gzip(srv, ct, ae, ua):
    """Not compressed; yet a compressible type would be for another client,
    so a cache must key it on Accept-Encoding (not User-Agent, gzip.h)."""
    r = get(srv, "/bytes?n=20000&ct=" + ct, ae=ae, ua=ua)
    assert r.status == 200
    assert r.header("content-encoding") is None, r.headers
    assert r.body == expected_bytes(20000)
    vary = None if ct == "image/png" else "Accept-Encoding"
    assert r.header_all("vary") == ([vary] if vary else []), r.headers


@pytest.mark.parametrize("lines,encoding", [
    (["deflate", "gzip"], "gzip"),      # gzip on the second line
    (["gzip;q=0", "br"], None),
    (["br", "GZIP ; q=0.5"], "gzip"),
])
def test_accept_encoding_over_several_lines(srv, lines, encoding):
    """Several Accept-Encoding lines are one comma-separated list (RFC 9110
    5.3): gzip on any of them counts."""
    hdrs = [("Accept-Encoding", v) for v in lines] + [("User-Agent", GZIP_UA)]
    r = http_request(srv.port, "GET", "/bytes?n=20000&ct=text/html", hdrs)
    assert (r.status, r.header("content-encoding")) == (200, encoding), r.headers
    body = gzip.decompress(r.body) if encoding else r.body
    assert body == expected_bytes(20000)


@pytest.mark.parametrize("n,encoding", [(100, None), (255, None), (256, "gzip")])
def test_gzip_only_from_256_bytes(srv, n, encoding):
    """Below 256 bytes gzip's frame and headers cost about what it saves.
    Vary either way: an empty HEAD or a 304 cannot know the length, and
    says what its GET would."""
    r = get(srv, "/bytes?n=%d&ct=text/html" % n, ae="gzip", ua=GZIP_UA)
    assert (r.status, r.header("content-encoding")) == (200, encoding), r.headers
    body = gzip.decompress(r.body) if encoding else r.body
    assert body == expected_bytes(n)
    assert r.header_all("vary") == ["Accept-Encoding"], r.headers


def test_gzip_skipped_when_body_does_not_shrink(srv):
    r = get(srv, "/bytes?n=4000&rand=1&ct=text/plain", ae="gzip", ua=GZIP_UA)
    assert r.status == 200
    assert r.header("content-encoding") is None, r.headers
    assert len(r.body) == 4000 and r.header("content-length") == "4000"
    assert r.header_all("vary") == ["Accept-Encoding"], r.headers


CLIENTS = {
    "gzip": [("Accept-Encoding", "gzip, deflate"), ("User-Agent", GZIP_UA)],
    "no_ae": [("User-Agent", GZIP_UA)],
    "plain_ua": [("Accept-Encoding", "gzip"), ("User-Agent", PLAIN_UA)],
}


def fields(r, drop=()):
    """The header fields in order, but Date (a second may pass) and drop."""
    return [(k.lower(), v) for k, v in r.headers if k.lower() not in ("date",) + drop]


@pytest.mark.parametrize("client", sorted(CLIENTS))
@pytest.mark.parametrize("path,compressible", [
    ("/bytes?n=5000&ct=text/html", True),
    ("/bytes?n=5000&ct=text/html&cl=0", True),
    ("/bytes?n=100&ct=text/html", False),
    ("/bytes?n=4000&rand=1&ct=text/plain", False),
    ("/bytes?n=5000&ct=image/png", False),
    ("/status?etag=%22v1%22&vary=Cookie&body=" + "compressible%20" * 50, True),
])
def test_head_with_body_has_get_headers(srv, client, path, compressible):
    """RFC 9110 9.3.2: the runtime runs the app for HEAD as for GET and the
    master gets its body: the gzip decision, Content-Length (compressed),
    ETag and Vary are the GET's."""
    g, h, n = get_head_next(srv.port, path, CLIENTS[client], "/path/after")
    assert g.status == h.status == 200
    gzipped = "gzip" if compressible and client == "gzip" else None
    assert h.header("content-encoding") == gzipped, h
    assert fields(h) == fields(g), (h, g)
    assert n.body == b"/path/after"


@pytest.mark.parametrize("client", sorted(CLIENTS))
@pytest.mark.parametrize("query,compressible", [
    ("n=5000&etag=%22e%22", True),        # a length declared
    ("n=5000&etag=%22e%22&cl=0", True),   # none declared: taken to be long enough
    ("n=100&etag=%22e%22", False),        # declared, below GZIP_MIN_BYTES
])
def test_empty_head_has_get_headers(srv, client, query, compressible):
    """A HEAD the app answers with an empty body: Content-Encoding, ETag and
    Vary are the GET's; Content-Length only when the GET's is known (the
    app's, of a body that is not compressed)."""
    g, h, n = get_head_next(srv.port, "/head_empty?" + query, CLIENTS[client], "/path/after")
    assert g.status == h.status == 200
    gzipped = "gzip" if compressible and client == "gzip" else None
    assert h.header("content-encoding") == gzipped, h
    known = "cl=0" not in query and not g.header("content-encoding")
    assert (h.header("content-length") is not None) == known, h
    assert fields(h) == fields(g, () if known else ("content-length",)), (h, g)
    assert n.body == b"/path/after"


@pytest.mark.parametrize("path,vary", [
    ("/status?status=304%20Not%20Modified", "Accept-Encoding"),  # the 200's Vary
    ("/status?status=206%20Partial%20Content&range=bytes%200-2/9&body=abc", "Accept-Encoding"),
    ("/status?status=204%20No%20Content", None),    # never a body
    ("/status?ct=image/png&body=" + "x" * 400, None),  # never compressed
    ("/precompressed", None),                       # the app's own encoding
])
def test_vary_by_status_and_type(srv, path, vary):
    """A 304 and a 206 carry the Vary of their 200 (RFC 9110 15.4.5,
    15.3.7); a 204, a type never compressed and a body the app encoded
    itself do not vary on Accept-Encoding."""
    for ae, ua in (("gzip", GZIP_UA), (None, None)):
        r = get(srv, path, ae=ae, ua=ua)
        assert r.header_all("vary") == ([vary] if vary else []), r


@pytest.mark.parametrize("ct,app_vary,sent", [
    ("text/plain", "Cookie", "Cookie, Accept-Encoding"),
    ("text/plain", "accept-encoding, Cookie", "accept-encoding, Cookie"),
    ("text/plain", "*", "*"),
    ("text/plain", "", "Accept-Encoding"),
    ("image/png", "Cookie", "Cookie"),
])
def test_app_vary_merged(srv, ct, app_vary, sent):
    """Accept-Encoding joins the app's own Vary field, once, for every
    client, compressed or not."""
    path = "/status?ct=%s&vary=%s&body=%s" % (quote(ct), quote(app_vary), "compressible%20" * 50)
    for client in sorted(CLIENTS):
        r = http_request(srv.port, "GET", path, CLIENTS[client])
        assert r.header_all("vary") == [sent], (client, r)


def test_partial_content_not_compressed(srv):
    """Content-Range counts bytes of the unencoded body: a gzipped range
    would not be the bytes it names."""
    part = "gaelic range of a text body " * 20
    r = get(srv, "/status?status=206%20Partial%20Content&range=bytes%20100-{}/9999&body={}"
            .format(100 + len(part) - 1, part.replace(" ", "%20")), ae="gzip", ua=GZIP_UA)
    assert r.status == 206
    assert r.header("content-encoding") is None, r.headers
    assert r.body == part.encode()


@pytest.mark.parametrize("etag,vary", [('"v1"', None), ('W/"v1"', "Cookie"),
                                       ('"v1"', "accept-encoding, Cookie")])
def test_gzip_etag_weakened_and_vary_once(srv, etag, vary):
    """The gzipped body is another representation (RFC 9110 8.8.3): a strong
    ETag becomes weak, so If-Range never joins bytes of the two; Vary names
    Accept-Encoding once, beside what the app's Vary says."""
    path = "/status?body=" + "compressible%20" * 50 + "&etag=" + quote(etag)
    if vary:
        path += "&vary=" + quote(vary)
    plain = get(srv, path)
    assert (plain.header("content-encoding"), plain.header("etag")) == (None, etag)
    r = get(srv, path, ae="gzip", ua=GZIP_UA)
    assert r.header("content-encoding") == "gzip"
    assert r.header("etag") == 'W/"v1"'
    varies = [v.strip().lower() for h in r.header_all("vary") for v in h.split(",")]
    assert varies.count("accept-encoding") == 1, r.headers
    if vary:
        assert "cookie" in varies


@pytest.mark.parametrize("cc", ["no-transform", "public,%20No-Transform", "max-age=60|no-transform"])
def test_no_transform_is_never_gzipped(srv, cc):
    """Cache-Control: no-transform forbids changing the body on the way
    (RFC 9111 5.2.2.6): it goes out as the app wrote it, with its strong
    ETag and no Vary: Accept-Encoding, as its 304 does."""
    body = "compressible%20" * 50
    r = get(srv, "/status?body=" + body + "&etag=" + quote('"v1"') + "&cc=" + cc,
            ae="gzip", ua=GZIP_UA)
    assert r.status == 200
    assert r.header("content-encoding") is None, r.headers
    assert r.body == b"compressible " * 50
    assert r.header("etag") == '"v1"', r.headers
    assert r.header("vary") is None, r.headers
    r = get(srv, "/status?status=304%20Not%20Modified&etag=" + quote('"v1"') + "&cc=" + cc,
            ae="gzip", ua=GZIP_UA)
    assert (r.status, r.header("etag"), r.header("vary")) == (304, '"v1"', None), r.headers


def test_blanks_around_an_app_s_header_value_are_not_sent(srv):
    """A field value has no blanks around it (RFC 9110 5.5); Django's
    Set-Cookie values begin with one. Sent as they came, they left a strong
    ETag strong on a gzipped body (its '"' test saw the blank)."""
    path = "/status?body=" + "compressible%20" * 50 + "&etag=" + quote(' "v1"\t ')
    plain = get(srv, path)
    assert b'\r\nETag: "v1"\r\n' in plain.raw_head, plain.raw_head
    r = get(srv, path, ae="gzip", ua=GZIP_UA)
    assert r.header("content-encoding") == "gzip"
    assert b'\r\nETag: W/"v1"\r\n' in r.raw_head, r.raw_head


@pytest.mark.parametrize("ct,weak", [("text/plain", True), ("", True), ("image/png", False)])
def test_app_304_etag_as_its_200s(srv, ct, weak):
    """A 304 the app makes itself cannot tell whether its 200 went gzipped
    (only the app knows the length): to a gzip client a strong ETag goes
    weak, as that 200's would for a compressible or unnamed type. Other
    clients, and types never compressed, keep it as the app sent it."""
    path = "/status?status=304%20Not%20Modified&etag=" + quote('"v1"') + "&ct=" + quote(ct)
    r = get(srv, path, ae="gzip", ua=GZIP_UA)
    assert r.status == 304 and r.body == b""
    assert r.header("content-encoding") is None, r.headers
    assert r.header("etag") == ('W/"v1"' if weak else '"v1"'), r.headers
    for ae, ua in ((None, None), ("gzip", None), ("gzip;q=0", GZIP_UA)):
        assert get(srv, path, ae=ae, ua=ua).header("etag") == '"v1"', (ae, ua)
    already = "/status?status=304%20Not%20Modified&etag=" + quote('W/"v1"')
    assert get(srv, already, ae="gzip", ua=GZIP_UA).header("etag") == 'W/"v1"'


@pytest.mark.parametrize("ct,app_vary,sent", [
    ("", None, "Accept-Encoding"),
    ("", "Cookie", "Cookie, Accept-Encoding"),
    ("", "Accept-Encoding", "Accept-Encoding"),
    ("", "*", "*"),
    ("text/plain", None, "Accept-Encoding"),
    ("image/png", None, None),
])
def test_app_304_vary_as_its_200s(srv, ct, app_vary, sent):
    """A 304 carries the Vary its 200 would (RFC 9110 15.4.5). One without
    a Content-Type cannot say whether that 200 was compressible: it varies
    on Accept-Encoding, as its ETag goes weak to a gzip client, joined to
    the app's own Vary once; for every client."""
    path = "/status?status=304%20Not%20Modified&etag=" + quote('"v1"') + "&ct=" + quote(ct)
    if app_vary is not None:
        path += "&vary=" + quote(app_vary)
    for client in sorted(CLIENTS):
        r = http_request(srv.port, "GET", path, CLIENTS[client])
        assert r.status == 304 and r.body == b"", r
        assert r.header_all("vary") == ([sent] if sent else []), (client, r)


@pytest.mark.parametrize("cl,weak", [("100", False), ("255", False), ("256", True)])
def test_app_304_with_its_200s_length_keeps_its_etag(srv, cl, weak):
    """A 304 that states its 200's length (RFC 9110 8.6) says whether that
    200 was long enough to be gzipped: one too short kept its strong ETag,
    and the 304 must carry the same (RFC 9110 15.4.5). One long enough went
    gzipped to this client, whose 200 then had another length: the app's
    (uncompressed) one is not sent, as a 304 may state only the length of
    its 200 (8.6). A client without gzip gets it."""
    path = ("/status?status=304%20Not%20Modified&etag=" + quote('"v1"') +
            "&ct=text/plain&cl=" + cl)
    r = get(srv, path, ae="gzip", ua=GZIP_UA)
    assert (r.status, r.header("content-length")) == (304, None if weak else cl), r.headers
    assert r.header("etag") == ('W/"v1"' if weak else '"v1"'), r.headers
    r = get(srv, path)
    assert (r.status, r.header("content-length"), r.header("etag")) == (304, cl, '"v1"'), r


def test_app_encoded_body_not_compressed_again(srv):
    r = get(srv, "/precompressed", ae="gzip", ua=GZIP_UA)
    assert r.status == 200
    assert r.header("content-encoding") == "gzip"
    assert gzip.decompress(r.body) == b"already compressed " * 200


def test_large_request_body_intact(srv):
    body = bytes(range(256)) * 8192  # 2 MB
    r = http_request(srv.port, "POST", "/echo", [("Content-Type", "application/octet-stream")],
                     body, timeout=30)
    assert r.status == 200
    assert len(r.body) == len(body)
    assert hashlib.sha256(r.body).digest() == hashlib.sha256(body).digest()


def test_one_megabyte_body_intact(srv):
    n = 1024 * 1024
    r = get(srv, "/bytes?n=%d&ct=application/octet-stream" % n)
    assert r.status == 200
    assert len(r.body) == n
    assert hashlib.sha256(r.body).digest() == hashlib.sha256(expected_bytes(n)).digest()


def test_content_length_added_when_app_gives_none(srv):
    r = get(srv, "/bytes?n=3000&cl=0")
    assert r.status == 200
    assert r.header("content-length") == "3000"
    assert r.body == expected_bytes(3000)


def test_response_buffered_until_handler_finishes(srv):
    """The app yields 'first;' then sleeps 1 s: nothing may arrive before the
    handler is done (RT6), and the whole body then has a Content-Length."""
    with Conn(srv.port) as c:
        t0 = time.monotonic()
        c.request("GET", "/stream")
        c.sock.settimeout(10)
        first = c.sock.recv(1)
        ttfb = time.monotonic() - t0
        c.buf = first
        r = c.read_response()
    assert ttfb >= 0.9, "first byte after %.2fs: the response was streamed" % ttfb
    assert r.body == b"first;second"
    assert r.header("content-length") == "12"


def test_multiple_set_cookie_headers_kept(srv):
    r = get(srv, "/cookies")
    assert r.status == 200
    assert sorted(r.header_all("set-cookie")) == ["a=1; Path=/", "b=2; Path=/"]
    assert r.header("x-custom") == "custom value"


def test_untyped_answer_is_html(srv):
    """An answer without a Content-Type goes out as text/html, as App
    Engine's front end (and dev_appserver) made it; gzip and Vary follow
    that type. A 204 and a 304 get none: a 304's would replace the type a
    cache stored."""
    body = "<p>" + "untyped " * 60 + "</p>"
    r = get(srv, "/status?ct=&body=" + quote(body), ae="gzip", ua=GZIP_UA)
    assert r.header_all("content-type") == ["text/html"], r
    assert r.header("content-encoding") == "gzip" and r.header("vary") == "Accept-Encoding", r
    assert gzip.decompress(r.body) == body.encode(), r
    r = get(srv, "/status?ct=&body=hi")
    assert (r.header_all("content-type"), r.body) == (["text/html"], b"hi"), r
    for status in ("204%20No%20Content", "304%20Not%20Modified"):
        r = get(srv, "/status?ct=&status=" + status)
        assert r.header_all("content-type") == [], r


PAST = "Thu, 01 Jan 1970 00:00:00 GMT"
FUTURE = "Fri, 01 Jan 2100 00:00:00 GMT"


LONG_PAST = "Fri, 01 Jan 1990 00:00:00 GMT"
NOW = "now"


@pytest.mark.parametrize("cc,expires,sent_cc,sent_expires", [
    (None, None, "no-cache", LONG_PAST),
    (None, FUTURE, "no-cache", NOW),
    (None, PAST, "no-cache", PAST),
    ("public, max-age=300", FUTURE, "max-age=300, private", NOW),
    ("public|max-age=60, must-revalidate", None, "max-age=60, must-revalidate, private", NOW),
    ("no-store", PAST, "no-store", PAST),
    ("max-age=60, private", "0", "max-age=60, private", NOW),
    ("no-cache", PAST, "no-cache", PAST),
])
def test_set_cookie_makes_the_answer_private(srv, cc, expires, sent_cc, sent_expires):
    """As App Engine did: an answer that sets a cookie is never kept by a
    shared cache (which would give the cookie to the next client): its
    Cache-Control loses "public" and gains "private" unless it is already
    private, no-cache or no-store (none at all is "no-cache", as for every
    answer), and its Expires is now unless already past."""
    path = "/status?cookie=" + quote("sid=1; Path=/") + "&body=hi"
    if cc:
        path += "&cc=" + quote(cc)
    if expires:
        path += "&expires=" + quote(expires)
    before = time.time()
    r = get(srv, path)
    assert r.status == 200 and r.body == b"hi", r
    assert r.header_all("set-cookie") == ["sid=1; Path=/"], r
    assert r.header_all("cache-control") == [sent_cc], r
    [exp] = r.header_all("expires")
    if sent_expires != NOW:
        assert exp == sent_expires, r
    else:
        t = email.utils.parsedate_to_datetime(exp).timestamp()
        assert before - 2 <= t <= time.time() + 1, r


def test_cache_headers_without_set_cookie_are_the_apps(srv):
    r = get(srv, "/status?cc=public,%20max-age=300&expires=" + quote(FUTURE) + "&body=hi")
    assert (r.header_all("cache-control"), r.header_all("expires")) == (
        ["public, max-age=300"], [FUTURE]), r
    r = get(srv, "/status?status=304%20Not%20Modified&cookie=a%3D1&cc=public")
    assert r.header_all("cache-control") == ["public"] and not r.header_all("expires"), r


def test_an_answer_silent_on_caching_is_not_cached(srv):
    """As App Engine (and dev_appserver's copy of its rule) made it: an
    answer without Cache-Control gets "no-cache", and an Expires long past
    unless it has its own. Not a 204 or a 304, which stay as they are."""
    r = get(srv, "/status?body=hi")
    assert (r.header_all("cache-control"), r.header_all("expires")) == (
        ["no-cache"], [LONG_PAST]), r
    r = get(srv, "/status?expires=" + quote(FUTURE) + "&body=hi")
    assert (r.header_all("cache-control"), r.header_all("expires")) == (["no-cache"], [FUTURE]), r
    r = get(srv, "/status?status=404%20Not%20Found&body=gone")
    assert (r.status, r.header_all("cache-control")) == (404, ["no-cache"]), r
    for status in ("204%20No%20Content", "304%20Not%20Modified"):
        r = get(srv, "/status?status=" + status)
        assert (r.header_all("cache-control"), r.header_all("expires")) == ([], []), r


@pytest.mark.parametrize("status", ["201 Created", "302 Found", "418 I'm a teapot"])
def test_status_passed_through(srv, status):
    r = get(srv, "/status?status=%s&location=/elsewhere&body=x" % status.replace(" ", "%20"))
    assert r.status == int(status[:3])
    assert r.body == b"x"
    if status.startswith("302"):
        assert r.header("location") in ("/elsewhere", "http://127.0.0.1:%d/elsewhere" % srv.port)


def test_204_has_no_body(srv):
    with Conn(srv.port) as c:
        c.request("GET", "/status?status=204%20No%20Content&body=dropped&cl=7")
        r = c.read_response()
        assert r.status == 204
        # RFC 9110 8.6: never a Content-Length in a 204.
        assert r.header("content-length") is None, r
        c.request("GET", "/path/after204")
        assert c.read_response().body == b"/path/after204"


@pytest.mark.parametrize("status", ["100 Continue", "101 Switching Protocols", "103 Early Hints"])
def test_interim_status_from_app_is_500(srv, status):
    """A 1xx cannot be the answer (RFC 9110 15.2): the client would wait for
    the final response, or after 101 stop speaking HTTP."""
    with Conn(srv.port) as c:
        c.request("GET", "/status?status=" + status.replace(" ", "%20"))
        r = c.read_response(timeout=5)
        assert r.status == 500, r
        c.request("GET", "/path/after1xx")
        assert c.read_response(timeout=5).body == b"/path/after1xx"


def test_205_has_empty_body(srv):
    """RFC 9110 15.3.6: no content in a 205, and Content-Length: 0 says so."""
    with Conn(srv.port) as c:
        c.request("GET", "/status?status=205%20Reset%20Content&body=dropped")
        r = c.read_response()
        assert (r.status, r.header("content-length"), r.body) == (205, "0", b""), r
        c.request("GET", "/path/after205")
        assert c.read_response().body == b"/path/after205"


@pytest.mark.parametrize("cl", [None, "1234"])
def test_304_content_length_only_from_the_app(srv, cl):
    """RFC 9110 8.6: a 304 may state only the length a 200 would have had,
    which only the app knows: its value, else none (never 0)."""
    path = "/status?status=304%20Not%20Modified&body=dropped" + ("&cl=" + cl if cl else "")
    with Conn(srv.port) as c:
        c.request("GET", path)
        r = c.read_response()
        assert r.status == 304
        assert r.header("content-length") == cl, r
        c.request("GET", "/path/after304")
        assert c.read_response().body == b"/path/after304"


# ---------------------------------------------------------------- limits

@pytest.fixture(scope="module")
def limited(mserve):
    return mserve(app_path("basic"), "--max_response_bytes", "1000", "--max_request_bytes", "1000")


def test_response_over_limit_is_500_and_logged(limited):
    r = http_request(limited.port, "GET", "/bytes?n=2000")
    assert r.status == 500
    assert b"gaelic 0123456789" not in r.body, "the oversized body leaked out"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not _says_response_too_large(limited.stderr_text()):
        time.sleep(0.1)
    assert _says_response_too_large(limited.stderr_text()), limited.stderr_text()[-3000:]


def _says_response_too_large(text):
    return re.search(r"(?i)response.{0,80}(too large|too big|limit|exceed|max_response_bytes)"
                     r"|(max_response_bytes|limit|exceed).{0,80}response", text)


@pytest.mark.parametrize("n,status", [(1000, 200), (1001, 500)])
def test_response_over_limit_through_write_is_500_even_if_the_app_catches_it(limited, n, status):
    """write() refuses the chunk that passes the limit by raising; an app
    that catches that and returns normally has still not sent its body,
    so the answer is the 500, not a 200 without the refused bytes."""
    r = http_request(limited.port, "GET", "/write_caught?n=%d" % n)
    assert r.status == status, r
    if status == 200:
        assert r.body == b"w" * n


def test_response_under_limit_ok(limited):
    r = http_request(limited.port, "GET", "/bytes?n=900")
    assert r.status == 200
    assert r.body == expected_bytes(900)


@pytest.mark.parametrize("n,status", [(1000, 200), (1001, 500)])
def test_response_limit_boundary(limited, n, status):
    r = http_request(limited.port, "GET", "/bytes?n=%d&ct=application/octet-stream" % n)
    assert r.status == status


@pytest.mark.parametrize("n,status", [(1000, 200), (1001, 413)])
def test_request_limit_boundary(limited, n, status):
    r = http_request(limited.port, "POST", "/echo", body=b"b" * n)
    assert r.status == status


def test_request_over_limit_413(limited):
    r = http_request(limited.port, "POST", "/echo", body=b"q" * 2000)
    assert r.status == 413


def test_request_under_limit_ok(limited):
    r = http_request(limited.port, "POST", "/echo", body=b"q" * 500)
    assert r.status == 200
    assert r.body == b"q" * 500


def test_server_still_serves_after_limits(limited):
    assert http_request(limited.port, "GET", "/bytes?n=5000").status == 500
    assert http_request(limited.port, "GET", "/path/fine").body == b"/path/fine"


# The app's status line and headers have their own limit (65536 by
# default): a 2-byte body must not carry megabytes of headers.
HEAD_LIMIT = "status line and headers of %d bytes exceed the 65536-byte limit " \
             "(--max_response_header_bytes)"


@pytest.mark.parametrize("n", [20 << 20, 70 << 20])
def test_response_headers_over_limit_refused_by_the_instance(srv, n):
    """20 MB of headers went out as a 200 before; 70 MB (past the frame
    limit) gave a 500 logged only as "MemoryError:". The instance now
    refuses both before building its frame, and says why."""
    r = http_request(srv.port, "GET", "/big_header?n=%d" % n, timeout=60)
    assert r.status == 500, r
    assert b"hhhh" not in r.body and r.header("x-big") is None
    assert srv.wait_stderr(HEAD_LIMIT % (52 + n)), srv.stderr_text()[-3000:]
    assert http_request(srv.port, "GET", "/path/after").body == b"/path/after"


@pytest.fixture(scope="module")
def head_limited(mserve):
    return mserve(app_path("basic"), "--max_response_header_bytes", "2000")


@pytest.mark.parametrize("n,status", [(1948, 200), (1949, 500)])
def test_response_header_limit_boundary(head_limited, n, status):
    """Counted as the master writes the head: 17 bytes of "HTTP/1.1 200
    OK\r\n", 26 of Content-Type, 9 + n of X-Big; the server's own Date,
    Server, Content-Length and Connection are not the app's."""
    r = http_request(head_limited.port, "GET", "/big_header?n=%d" % n)
    assert r.status == status, r
    if status == 200:
        assert r.header("x-big") == "h" * n and r.body == b"ok"


@pytest.fixture
def untrusting_master(serve, tmp_path, monkeypatch):
    """The real master with an instance that ignores the header limit it is
    given (a wrapper raises it to 4 GB): the master, which trusts nothing
    from an instance, still refuses the response."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    master = bindir / "gaelic"
    shutil.copy(harness.GAELIC_BIN, master)
    real = os.path.join(os.path.dirname(harness.GAELIC_BIN), "gaelic-instance")
    wrapper = bindir / "gaelic-instance"
    wrapper.write_text(
        "#!/usr/bin/python3\n"
        "import os, sys\n"
        "a = sys.argv[1:]\n"
        "i = a.index('--max-response-headers')\n"
        "a[i + 1] = str(4 << 30)\n"
        "os.execv(%r, [%r] + a)\n" % (real, real))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(harness, "GAELIC_BIN", str(master))
    env = dict(os.environ, GAELIC_PYTHON_DIR=os.path.join(REPO, "python"))
    return serve(app_path("basic"), "--max_response_header_bytes", "2000", env=env)


def test_response_header_limit_enforced_by_the_master(untrusting_master):
    srv = untrusting_master
    assert http_request(srv.port, "GET", "/big_header?n=1948").status == 200
    r = http_request(srv.port, "GET", "/big_header?n=5000")
    assert r.status == 500 and r.header("x-big") is None, r
    assert srv.wait_stderr(
        "response headers too large: 5052 bytes of status line and headers, "
        "the limit is 2000 (--max_response_header_bytes)"), srv.stderr_text()[-3000:]


UNDER_ASAN = "asan" in os.path.basename(os.path.dirname(harness.GAELIC_BIN))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


@pytest.mark.skipif(UNDER_ASAN, reason="its quarantine holds freed memory back")
def test_a_big_answer_is_not_kept_in_the_master_after_it_is_sent(serve):
    """The buffer the master reads an instance's answers into grows to hold
    the largest (9 MB here: 16 MB, grown by doubling) and was kept as long
    as the instance lived, for every instance; it is freed once empty,
    like the buffer of what the master writes to the instance."""
    s = serve(app_path("basic"), "--max_instances", "1")
    assert http_request(s.port, "GET", "/bytes?n=1000").status == 200
    before = rss_kb(s.pid)
    n = 9000000
    for _ in range(3):
        r = http_request(s.port, "GET", "/bytes?n=%d&rand=1" % n)
        assert (r.status, len(r.body)) == (200, n), r
    grown = rss_kb(s.pid) - before
    assert grown < 8 * 1024, "the master still holds %d kB after its answers" % grown


# ---------------------------------------------------------------------------
# Big bodies are compressed beside the event loop (gzip_worker.h): bodies
# from 64 KiB on go to the master's gzip threads.

@pytest.mark.parametrize("n", [65535, 65536, 3000000])
def test_gzip_of_big_bodies(srv, n):
    g, h, nxt = get_head_next(srv.port, "/bytes?n=%d&ct=text/html" % n, CLIENTS["gzip"],
                              "/path/after")
    assert g.status == h.status == 200
    assert g.header("content-encoding") == "gzip", g
    assert gzip.decompress(g.body) == expected_bytes(n)
    assert fields(h) == fields(g), (h, g)
    assert nxt.body == b"/path/after"


def test_big_body_that_does_not_shrink_goes_as_it_is(srv):
    r = get(srv, "/bytes?n=300000&rand=1&ct=text/plain", ae="gzip", ua=GZIP_UA)
    assert r.status == 200
    assert r.header("content-encoding") is None, r.headers
    assert r.header("content-length") == "300000" and len(r.body) == 300000


def test_pipelined_answers_keep_their_order_around_a_big_gzip(srv):
    """The next request on the connection is not answered before the big
    one whose body is still being compressed."""
    with Conn(srv.port) as c:
        c.send(build_request("GET", "/bytes?n=2000000&ct=text/plain", CLIENTS["gzip"]) +
               build_request("GET", "/path/second") +
               build_request("GET", "/bytes?n=300&ct=text/plain", CLIENTS["gzip"]))
        first, second, third = c.read_response(), c.read_response(), c.read_response()
    assert gzip.decompress(first.body) == expected_bytes(2000000)
    assert second.body == b"/path/second"
    assert gzip.decompress(third.body) == expected_bytes(300)


# Hex text of random bytes: deflate shrinks it by about 40%, at some
# 25 MB/s here, so 24 MiB of it keep a gzip thread busy for about a second.
BIG_HEX_BYTES = 24 << 20
GZIP_APP_MAIN = '''
import random
import threading

import _gaelic

sent = threading.Event()
_send = _gaelic.send_response


def _send_and_tell(request_id, status, headers, body, *rest):
    _send(request_id, status, headers, body, *rest)
    if len(body) == %d:
        sent.set()


_gaelic.send_response = _send_and_tell


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/big":
        body = random.Random(1).randbytes(%d).hex().encode()
    elif path == "/after":
        # Answered only once the big answer is on the channel, ahead of it.
        body = b"sent" if sent.wait(60) else b"not sent"
    else:
        body = path.encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
''' % (BIG_HEX_BYTES, BIG_HEX_BYTES // 2)


@pytest.fixture
def big_gzip(serve, tmp_path):
    app = harness.write_app(tmp_path / "bigzip", "runtime: python27\nthreadsafe: true\n"
                            "handlers:\n- url: /.*\n  script: main.app\n",
                            {"main.py": GZIP_APP_MAIN})
    srv = serve(app, "--max_instances", "1", "--max_response_bytes", str(BIG_HEX_BYTES))
    # The first request imports main.py: its own answer is sent unwatched.
    assert srv.get("/import").content == b"/import"
    big = Conn(srv.port, timeout=120)
    big.request("GET", "/big", CLIENTS["gzip"])
    r = http_request(srv.port, "GET", "/after")
    assert r.body == b"sent", r
    return srv, big


def has_input(conn):
    return bool(conn.buf) or bool(select.select([conn.sock], [], [], 0)[0])


def test_server_answers_while_a_big_body_is_compressed(big_gzip):
    """The app answered /after only once its big answer was on the
    channel, ahead of /after's: when the master deflated in its loop, the
    big answer went out, compressed, before it could read /after's."""
    srv, big = big_gzip
    assert not has_input(big)
    assert srv.get("/path/meanwhile").content == b"/path/meanwhile"
    r = big.read_response()
    big.close()
    assert r.header("content-encoding") == "gzip" and len(r.body) < BIG_HEX_BYTES
    expected = random.Random(1).randbytes(BIG_HEX_BYTES // 2).hex().encode()
    assert gzip.decompress(r.body) == expected


def test_client_gone_during_compression(big_gzip):
    """A client that leaves while its body is compressed: the task is
    dropped, the request logged 499 (as any answer the client did not
    wait for), and the server serves on."""
    srv, big = big_gzip
    big.reset()
    assert srv.wait_stderr('"GET /big HTTP/1.1" 499'), srv.stderr_text()[-3000:]
    assert srv.get("/path/next").content == b"/path/next"
    assert srv.stop() == 0


def test_stop_waits_for_a_compression(big_gzip):
    """SIGTERM lets running requests finish: one whose body is being
    compressed is answered, then the server exits 0."""
    srv, big = big_gzip
    srv.send_signal(signal.SIGTERM)
    r = big.read_response()
    big.close()
    assert r.status == 200 and r.header("connection") == "close"
    assert len(gzip.decompress(r.body)) == BIG_HEX_BYTES
    assert srv.wait(60) == 0
