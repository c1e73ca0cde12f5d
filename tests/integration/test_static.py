"""Static files (RT1): static_dir, static_files + upload, mime_type,
expiration / default_expiration, ETag / Last-Modified with 304, Range,
path-escape refusals, served by the master without starting an instance;
gzip by RT6's rule, as for dynamic responses (test_response.py)."""
import email.utils
import gzip
import os
import random
import signal
import time

import pytest

from harness import Conn, copy_app, get_head_next, http_request, write_app

APP = "static"

GZIP_UA = "Mozilla/5.0 (X11; Linux x86_64) (gzip)"
PLAIN_UA = "Mozilla/5.0 (X11; Linux x86_64)"
GZ = [("Accept-Encoding", "gzip, deflate"), ("User-Agent", GZIP_UA)]
_LINE = b"<li>gaelic static 0123456789 abcdefghijklmnopqrstuvwxyz</li>\n"
GZ_FILES = {
    "page.html": _LINE * 400,                          # 24 KB, compressible
    "big.css": _LINE * (2 * 1024 * 1024 // len(_LINE)),  # 2 MiB: compressed by a thread
    "order.css": _LINE[::-1] * 20000,                     # 1.2 MB: likewise
    "noise.txt": random.Random(7).randbytes(4096),     # a text type that does not shrink
    "logo.png": b"\x89PNG\r\n\x1a\n" + _LINE * 40,     # shrinks, but not a compressible type
}
EDGE_SIZES = (32767, 32768, 32769)


@pytest.fixture(scope="module")
def appdir(tmp_path_factory):
    d = copy_app(APP, tmp_path_factory.mktemp("static") / "app")
    with open(os.path.join(d, "static", "big.bin"), "wb") as f:
        f.write(os.urandom(3 * 1024 * 1024 + 7))
    for size in EDGE_SIZES:  # bodies up to 32 KiB go out with the head
        with open(os.path.join(d, "static", "edge%d.bin" % size), "wb") as f:
            f.write(os.urandom(size))
    for name, data in GZ_FILES.items():
        with open(os.path.join(d, "static", name), "wb") as f:
            f.write(data)
    outside = os.path.join(os.path.dirname(d), "outside.txt")
    with open(outside, "w") as f:
        f.write("OUTSIDE-SECRET\n")
    os.symlink(outside, os.path.join(d, "static", "link_out.txt"))
    os.symlink("/etc", os.path.join(d, "static", "etc_link"))
    os.symlink("index.html", os.path.join(d, "static", "link_in.html"))
    return d


@pytest.fixture(scope="module")
def srv(mserve, appdir):
    s = mserve(appdir, "--log_level", "debug")
    # Over the 10 MB one app file may hold, which the server refuses at
    # start: put there while it serves, it is never compressed.
    with open(os.path.join(appdir, "static", "huge.css"), "wb") as f:
        f.write(_LINE * (10 * 1024 * 1024 // len(_LINE) + 1))
    return s


def read(appdir, rel):
    with open(os.path.join(appdir, rel), "rb") as f:
        return f.read()


def get(srv, path, headers=None, method="GET"):
    return http_request(srv.port, method, path, headers=headers)


@pytest.mark.parametrize("path,rel,ctype", [
    ("/static/index.html", "static/index.html", "text/html"),
    ("/static/css/site.css", "static/css/site.css", "text/css"),
    ("/static/blob.bin", "static/blob.bin", "application/octet-stream"),
    ("/static/unknown.qqq", "static/unknown.qqq", "application/octet-stream"),
    ("/f/a.txt", "files/a.txt", "text/plain"),
    ("/typed/a.txt", "files/a.txt", "application/x-custom"),
    ("/static/link_in.html", "static/index.html", "text/html"),
])
def test_get(srv, appdir, path, rel, ctype):
    r = get(srv, path)
    body = read(appdir, rel)
    assert r.status == 200, r
    assert r.header("Content-Type") == ctype
    assert r.header("Content-Length") == str(len(body))
    assert r.header("Accept-Ranges") == "bytes"
    assert r.body == body
    assert r.header("ETag", "").startswith('"')
    assert email.utils.parsedate_to_datetime(r.header("Last-Modified"))


def test_big_binary_intact(srv, appdir):
    r = get(srv, "/static/big.bin")
    assert r.status == 200
    assert r.body == read(appdir, "static/big.bin")


@pytest.mark.parametrize("size", EDGE_SIZES)
def test_bodies_around_the_in_memory_size_intact(srv, appdir, size):
    """Read into the response or sent with sendfile: the same bytes, also
    pipelined after each other and as a range."""
    rel = "static/edge%d.bin" % size
    data = read(appdir, rel)
    with Conn(srv.port, timeout=30) as c:
        c.send("GET /%s HTTP/1.1\r\nHost: x\r\n\r\n" % rel * 2
               + "GET /%s HTTP/1.1\r\nHost: x\r\nRange: bytes=1-\r\n\r\n" % rel)
        for _ in range(2):
            r = c.read_response()
            assert r.status == 200 and r.body == data
        r = c.read_response()
        assert r.status == 206 and r.body == data[1:]


def test_head(srv, appdir):
    with Conn(srv.port) as c:
        c.request("HEAD", "/static/blob.bin")
        r = c.read_response(head=True)
        assert r.status == 200
        assert r.header("Content-Length") == str(len(read(appdir, "static/blob.bin")))
        # the connection is still in step: no body followed the head
        c.request("GET", "/static/index.html")
        r2 = c.read_response()
        assert r2.status == 200 and r2.body == read(appdir, "static/index.html")


def test_304_if_none_match(srv):
    etag = get(srv, "/static/index.html").header("ETag")
    for inm in (etag, "W/" + etag, '"nope", ' + etag, "*"):
        with Conn(srv.port) as c:
            c.request("GET", "/static/index.html", [("If-None-Match", inm)])
            r = c.read_response()
            assert r.status == 304, inm
            assert r.header("Content-Length") is None
            assert r.header("ETag") == etag
            assert r.body == b""
            assert c.buf == b""
    assert get(srv, "/static/index.html", [("If-None-Match", '"other"')]).status == 200


def test_304_if_modified_since(srv):
    lm = get(srv, "/static/index.html").header("Last-Modified")
    assert get(srv, "/static/index.html", [("If-Modified-Since", lm)]).status == 304
    later = email.utils.formatdate(time.time() + 3600, usegmt=True)
    assert get(srv, "/static/index.html", [("If-Modified-Since", later)]).status == 304
    old = "Sat, 01 Jan 2000 00:00:00 GMT"
    r = get(srv, "/static/index.html", [("If-Modified-Since", old)])
    assert r.status == 200 and r.body
    # If-None-Match wins over If-Modified-Since
    r = get(srv, "/static/index.html", [("If-None-Match", '"x"'), ("If-Modified-Since", lm)])
    assert r.status == 200


@pytest.mark.parametrize("rng,first,last", [
    ("bytes=0-9", 0, 9),
    ("bytes=10-", 10, None),
    ("bytes=-5", None, None),
    ("bytes=100-999999", 100, None),
])
def test_range(srv, appdir, rng, first, last):
    data = read(appdir, "static/blob.bin")
    size = len(data)
    if first is None:
        first = size - 5
    if last is None:
        last = size - 1
    r = get(srv, "/static/blob.bin", [("Range", rng)])
    assert r.status == 206, r
    assert r.header("Content-Range") == "bytes %d-%d/%d" % (first, last, size)
    assert r.body == data[first:last + 1]
    assert r.header("Content-Length") == str(last - first + 1)


def test_range_unsatisfiable(srv, appdir):
    size = len(read(appdir, "static/blob.bin"))
    for rng in ("bytes=%d-" % size, "bytes=-0", "bytes=999999-"):
        r = get(srv, "/static/blob.bin", [("Range", rng)])
        assert r.status == 416, rng
        assert r.header("Content-Range") == "bytes */%d" % size


def test_range_ignored(srv, appdir):
    data = read(appdir, "static/blob.bin")
    for rng in ("bytes=0-1,5-6", "bytes=5-2", "items=0-1", "bytes=x-"):
        r = get(srv, "/static/blob.bin", [("Range", rng)])
        assert r.status == 200, rng
        assert r.body == data


def test_if_range(srv, appdir):
    data = read(appdir, "static/blob.bin")
    r0 = get(srv, "/static/blob.bin")
    etag, lm = r0.header("ETag"), r0.header("Last-Modified")
    for ir in (etag, lm):
        r = get(srv, "/static/blob.bin", [("Range", "bytes=0-3"), ("If-Range", ir)])
        assert r.status == 206 and r.body == data[:4], ir
    # A date that starts with W (Wednesday) is a date, not a weak entity tag.
    path = os.path.join(appdir, "static", "blob.bin")
    st = os.stat(path)
    os.utime(path, (st.st_atime, 1735732800))  # Wed, 01 Jan 2025 12:00:00 GMT
    try:
        lm = get(srv, "/static/blob.bin").header("Last-Modified")
        assert lm.startswith("Wed, "), lm
        r = get(srv, "/static/blob.bin", [("Range", "bytes=0-3"), ("If-Range", lm)])
        assert r.status == 206 and r.body == data[:4], lm
    finally:
        os.utime(path, (st.st_atime, st.st_mtime))
    for ir in ('"stale"', "Sat, 01 Jan 2000 00:00:00 GMT", "W/" + etag):
        r = get(srv, "/static/blob.bin", [("Range", "bytes=0-3"), ("If-Range", ir)])
        assert r.status == 200 and r.body == data, ir


def test_a_rewrite_in_the_same_second_changes_the_etag(srv, appdir):
    # Two versions of one size, written within one second: the client that
    # holds the first must get the second, whole, not a 304 or a range.
    path = os.path.join(appdir, "static", "same_second.css")
    second = int(time.time()) * 1_000_000_000
    with open(path, "w") as f:
        f.write("a{color:#ff0000}\n")
    os.utime(path, ns=(second, second + 100))
    etag = get(srv, "/static/same_second.css").header("ETag")
    with open(path, "w") as f:
        f.write("a{color:#00ff00}\n")
    os.utime(path, ns=(second, second + 200))
    r = get(srv, "/static/same_second.css", [("If-None-Match", etag)])
    assert r.status == 200 and r.body == b"a{color:#00ff00}\n", r
    r = get(srv, "/static/same_second.css", [("Range", "bytes=0-3"), ("If-Range", etag)])
    assert r.status == 200 and r.body == b"a{color:#00ff00}\n", r


def test_if_match_and_if_unmodified_since(srv, appdir):
    # A download resumed with them must not get another version's bytes.
    data = read(appdir, "static/blob.bin")
    r0 = get(srv, "/static/blob.bin")
    etag, lm = r0.header("ETag"), r0.header("Last-Modified")
    for name, value in (("If-Match", etag), ("If-Match", '"x", ' + etag), ("If-Match", "*"),
                        ("If-Unmodified-Since", lm), ("If-Unmodified-Since", "yesterday")):
        r = get(srv, "/static/blob.bin", [("Range", "bytes=0-3"), (name, value)])
        assert r.status == 206 and r.body == data[:4], (name, value)
    for name, value in (("If-Match", '"stale"'), ("If-Match", "W/" + etag),
                        ("If-Unmodified-Since", "Sat, 01 Jan 2000 00:00:00 GMT")):
        for method in ("GET", "HEAD"):
            r = get(srv, "/static/blob.bin", [("Range", "bytes=0-3"), (name, value)], method)
            assert r.status == 412 and r.body == b"", (name, value, method)
            assert r.header("Content-Length") == "0"
    # If-Match decides alone when both are there.
    r = get(srv, "/static/blob.bin", [("If-Match", etag),
                                      ("If-Unmodified-Since", "Sat, 01 Jan 2000 00:00:00 GMT")])
    assert r.status == 200 and r.body == data


def test_if_match_and_if_none_match_over_several_lines(srv, appdir):
    """Each is one list over all its lines (RFC 9110 5.3): the tag that
    matches may come on a later line than the first."""
    data = read(appdir, "static/blob.bin")
    etag = get(srv, "/static/blob.bin").header("ETag")
    r = get(srv, "/static/blob.bin", [("If-None-Match", '"stale"'), ("If-None-Match", etag)])
    assert r.status == 304, r
    r = get(srv, "/static/blob.bin", [("If-None-Match", '"stale"'), ("If-None-Match", '"x"')])
    assert r.status == 200 and r.body == data
    r = get(srv, "/static/blob.bin", [("Range", "bytes=0-3"), ("If-Match", '"stale"'),
                                      ("If-Match", etag)])
    assert r.status == 206 and r.body == data[:4], r
    r = get(srv, "/static/blob.bin", [("If-Match", '"stale"'), ("If-Match", '"x"')])
    assert r.status == 412


def test_last_modified_of_a_file_dated_in_the_future_is_now(srv, appdir):
    """RFC 9110 8.8.2.1: a Last-Modified is never later than the Date; a
    file whose date is in the future (a clock set wrong where it was
    written) was modified now."""
    path = os.path.join(appdir, "static", "future.txt")
    with open(path, "w") as f:
        f.write("from the future\n")
    future = time.time() + 10 * 365 * 86400
    os.utime(path, (future, future))
    r = get(srv, "/static/future.txt")
    assert r.status == 200 and r.body == b"from the future\n"
    last_modified = email.utils.parsedate_to_datetime(r.header("Last-Modified")).timestamp()
    date = email.utils.parsedate_to_datetime(r.header("Date")).timestamp()
    assert last_modified <= date, r.headers


def max_age(r):
    cc = r.header("Cache-Control")
    assert cc and cc.startswith("public, max-age="), cc
    return int(cc.split("=", 1)[1])


def test_expiration(srv):
    r = get(srv, "/short/index.html")
    assert max_age(r) == 30
    exp = email.utils.parsedate_to_datetime(r.header("Expires")).timestamp()
    assert abs(exp - (time.time() + 30)) < 5


def test_default_expiration(srv):
    r = get(srv, "/static/index.html")
    assert max_age(r) == 3600
    exp = email.utils.parsedate_to_datetime(r.header("Expires")).timestamp()
    assert abs(exp - (time.time() + 3600)) < 5


def test_no_expiration_is_app_engines_ten_minutes(serve, tmp_path):
    """Without expiration or default_expiration App Engine cached a static
    file for 10 minutes: Cache-Control and Expires say so."""
    d = copy_app(APP, tmp_path / "app", lambda text: text.replace("default_expiration: 1h\n", ""))
    s = serve(d)
    r = get(s, "/static/index.html")
    assert r.status == 200
    assert max_age(r) == 600
    exp = email.utils.parsedate_to_datetime(r.header("Expires")).timestamp()
    assert abs(exp - (time.time() + 600)) < 5
    assert max_age(get(s, "/short/index.html")) == 30


def test_http_headers_go_out_with_the_handlers_files(srv):
    """A static handler's http_headers are sent with each of its files, a
    304 and a HEAD included, each in place of the server's own header of
    that name (one Cache-Control, the app's), as App Engine sent them."""
    r = get(srv, "/headed/index.html")
    assert r.status == 200
    assert r.header("Access-Control-Allow-Origin") == "*"
    assert r.header("X-Frame-Options") == "DENY"
    assert r.header_all("Cache-Control") == ["no-store"]
    assert r.header_all("Vary") == ["Origin, Accept-Encoding"]  # joined: see below
    assert r.header("Expires")  # default_expiration still says when
    assert r.header("Content-Type").startswith("text/html")
    r304 = get(srv, "/headed/index.html", [("If-None-Match", r.header("ETag"))])
    assert r304.status == 304
    assert r304.header("Access-Control-Allow-Origin") == "*"
    assert r304.header_all("Cache-Control") == ["no-store"]
    head = get(srv, "/headed/index.html", method="HEAD")
    assert head.status == 200 and head.header("X-Frame-Options") == "DENY"
    # Other handlers of the same folder keep the server's headers only.
    plain = get(srv, "/static/index.html")
    assert plain.header("Access-Control-Allow-Origin") is None and max_age(plain) == 3600


@pytest.mark.parametrize("headers", [GZ, []])
def test_http_headers_vary_is_joined_by_accept_encoding(srv, headers):
    """A handler's Vary does not replace the server's Accept-Encoding: the
    file goes out gzipped to some clients, and a cache that keyed it on
    Origin alone would hand the gzip body to clients that cannot read it.
    Joined into the one field, as a dynamic response's Vary is."""
    r = get(srv, "/headed/page.html", headers)
    assert r.status == 200
    assert r.header("Content-Encoding") == ("gzip" if headers else None)
    assert r.header_all("Vary") == ["Origin, Accept-Encoding"], r
    r304 = get(srv, "/headed/page.html", headers + [("If-None-Match", r.header("ETag"))])
    assert r304.status == 304 and r304.header_all("Vary") == ["Origin, Accept-Encoding"]
    # Not for a type never compressed: the handler's Vary as it is.
    assert get(srv, "/headed/logo.png", headers).header_all("Vary") == ["Origin"]


def test_http_headers_validators_are_the_ones_compared(srv, appdir):
    """An ETag or Last-Modified of the handler's is the validator clients
    hold, so If-None-Match, If-Modified-Since and If-Range are compared
    with it; and, like the server's own, it goes weak on a gzipped body,
    another representation (RFC 9110 8.8.3)."""
    r = get(srv, "/tagged/index.html")
    assert r.header_all("ETag") == ['"release-7"']
    assert r.header_all("Last-Modified") == ["Tue, 01 Jan 2030 00:00:00 GMT"]
    assert get(srv, "/tagged/index.html", [("If-None-Match", '"release-7"')]).status == 304
    own = get(srv, "/static/index.html").header("ETag")  # the file's, never sent here
    assert get(srv, "/tagged/index.html", [("If-None-Match", own)]).status == 200
    ims = [("If-Modified-Since", "Mon, 31 Dec 2029 00:00:00 GMT")]
    assert get(srv, "/tagged/index.html", ims).status == 200
    ims = [("If-Modified-Since", "Tue, 01 Jan 2030 00:00:00 GMT")]
    assert get(srv, "/tagged/index.html", ims).status == 304
    data = read(appdir, "static/index.html")
    for validator in ('"release-7"', "Tue, 01 Jan 2030 00:00:00 GMT"):
        r = get(srv, "/tagged/index.html", [("Range", "bytes=0-4"), ("If-Range", validator)])
        assert r.status == 206 and r.body == data[:5], (validator, r)
    r = get(srv, "/tagged/index.html", [("Range", "bytes=0-4"), ("If-Range", own)])
    assert r.status == 200 and r.body == data
    r = get(srv, "/tagged/page.html", GZ)
    assert r.header("Content-Encoding") == "gzip"
    assert r.header_all("ETag") == ['W/"release-7"']
    assert get(srv, "/tagged/page.html", GZ + [("If-None-Match", 'W/"release-7"')]).status == 304


def test_http_headers_content_type_replaces_the_guessed_one(srv):
    r = get(srv, "/retyped/a.txt")
    assert r.status == 200
    assert r.header_all("Content-Type") == ["text/csv; charset=utf-8"]


def test_gzip_follows_the_content_type_of_http_headers(srv, appdir):
    """The Content-Type that goes out, the handler's when it has one,
    decides gzip and Vary (RT6), not the one the file name suggests."""
    r = get(srv, "/download/page.html", GZ)
    assert r.status == 200 and r.header_all("Content-Type") == ["application/octet-stream"]
    assert r.header("Content-Encoding") is None and r.header("Vary") is None, r
    assert r.body == read(appdir, "static/page.html")
    assert r.header("ETag").startswith('"')
    with open(os.path.join(appdir, "files", "table.dat"), "wb") as f:
        f.write(b"name,count\n" + b"gaelic,1\n" * 200)
    r = get(srv, "/retyped/table.dat", GZ)
    assert r.header("Content-Type") == "text/csv; charset=utf-8"
    assert r.header("Content-Encoding") == "gzip" and r.header("Vary") == "Accept-Encoding", r
    assert gzip.decompress(r.body) == read(appdir, "files/table.dat")


def test_upload_mismatch(srv):
    r = get(srv, "/any/files/a.txt")
    assert r.status == 200  # upload: .* allows it
    assert get(srv, "/typed/b.dat").status == 200
    # /f/ serves only what `upload: files/.*\.txt` allows
    assert get(srv, "/f/b.dat").status == 404
    assert srv.wait_stderr("upload")


def test_skip_files(srv):
    assert get(srv, "/static/old.bak").status == 404
    assert get(srv, "/any/secret/key.txt").status == 404
    assert srv.wait_stderr("skip_files")


@pytest.mark.parametrize("path,rel", [
    ("/static/" + "d/" * 40 + "gone.bak", "static/" + "d/" * 40 + "gone.bak"),
    ("/f/" + "d/" * 40 + "gone.dat", "files/" + "d/" * 40 + "gone.dat"),
])
def test_missing_file_is_404_before_its_regexes_run(srv, path, rel):
    """skip_files and upload are matched only against a file that exists:
    skip_files' regexes run once for each folder on the way, so on a path
    of 2000 folders the default skip_files alone took the server's loop 5 s
    a request, all other clients waiting. Missing, the file is 404 for
    that reason, whatever the regexes would say."""
    since = len(srv.stderr_text())
    assert get(srv, path).status == 404
    assert srv.wait_stderr("static file '%s' refused: No such file" % rel, since=since), \
        srv.stderr_text()[since:]


def test_skip_files_block_spread_over_lines(serve, tmp_path):
    """The `skip_files: |` block of old App Engine docs is one regex whose
    line breaks App Engine removed: the files it names are not served."""
    d = write_app(tmp_path / "app", SKIP_BLOCK_APP_YAML, {
        "main.py": "", "static/site.css": "body {}\n", "static/old.bak": "old\n",
        "static/notes/x.txt": "notes\n"})
    s = serve(d)
    assert get(s, "/static/site.css").status == 200
    assert get(s, "/static/old.bak").status == 404
    assert get(s, "/static/notes/x.txt").status == 404


def test_require_matching_file_passes_a_missing_file_to_the_next_handler(serve, tmp_path):
    """A static handler with require_matching_file applies only when the
    file it would serve is there: otherwise dev_appserver went on to the
    handlers after it (here the script), where without it the file is 404."""
    d = write_app(tmp_path / "app", MATCHING_FILE_APP_YAML, {
        "main.py": "def app(environ, start_response):\n"
                   "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                   "    return [('script ' + environ['PATH_INFO']).encode()]\n",
        "pub/site.css": "body {}\n", "pub/old.bak": "old\n", "assets/a.txt": "a\n"})
    s = serve(d)
    r = get(s, "/site.css")
    assert r.status == 200 and r.body == b"body {}\n"
    r = get(s, "/assets/a.txt")
    assert r.status == 200 and r.body == b"a\n"
    # Missing, or skipped (never uploaded): not a file the handler serves.
    for path in ("/gone.css", "/old.bak", "/assets/gone.txt"):
        r = get(s, path)
        assert r.status == 200 and r.body == b"script " + path.encode(), (path, r.status)
    assert get(s, "/strict/gone.txt").status == 404


MATCHING_FILE_APP_YAML = """\
runtime: python27
threadsafe: true
skip_files:
- ^.*\\.bak$
handlers:
- url: /strict
  static_dir: assets
- url: /assets
  static_dir: assets
  require_matching_file: true
- url: /(.*\\.(css|bak))
  static_files: pub/\\1
  upload: pub/.*
  require_matching_file: true
- url: /.*
  script: main.app
"""


SKIP_BLOCK_APP_YAML = """\
runtime: python27
threadsafe: true
handlers:
- url: /static
  static_dir: static
skip_files: |
  ^(.*/)?(
  (.*\\.bak)|
  (static/notes/.*)|
  )$
"""


# The first rule backtracks past PCRE2's match limit on a name of 40 a's
# (Python's re would just take its time); the second then never runs.
LIMIT_APP_YAML = """\
runtime: python27
threadsafe: true
handlers:
- url: /static
  static_dir: static
skip_files:
- ^static/(a|aa)+$
- ^.*\\.bak$
"""


def test_skip_files_that_cannot_be_matched_keep_the_file_unserved(serve, tmp_path):
    """A skip_files regex that fails on a path (PCRE2's match limit) leaves
    the file out, as the instances leave it out of the app's reach: it is
    not served as if no rule had matched."""
    name = "a" * 40 + "b.bak"
    d = write_app(tmp_path / "app", LIMIT_APP_YAML, {
        "main.py": "", "static/" + name: "skipped\n", "static/site.css": "body {}\n"})
    s = serve(d)
    assert get(s, "/static/site.css").status == 200
    r = get(s, "/static/" + name)
    assert r.status == 404, r
    assert b"skipped" not in r.body


@pytest.mark.parametrize("path", [
    "/static/../app.yaml",
    "/static/..%2fapp.yaml",
    "/static/%2e%2e/app.yaml",
    "/static/%2E%2E%2Fapp.yaml",
    "/static/css/..%2f..%2fapp.yaml",
    "/static/..%5capp.yaml",
    "/static/%5c..%5capp.yaml",
    "/static/index.html%00.txt",
    "/static//etc/passwd",
    "/any//etc/passwd",
    "/any/%2fetc%2fpasswd",
    "/any/../../outside.txt",
    "/static/link_out.txt",
    "/static/etc_link/passwd",
    "/any/static/link_out.txt",
    "/static/%2e%2e/%2e%2e/outside.txt",
    "/static/css",
    "/static/",
    "/any/proc/self/root/etc/passwd",
])
def test_traversal_refused(srv, path):
    with Conn(srv.port) as c:
        c.send("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path)
        r = c.read_response()
    # A path with ".." segments (decoded) is sent, as App Engine sent it, to
    # the same host without them: no file outside the app is named that way.
    if r.status == 302:
        loc = r.header("Location")
        assert loc.startswith("http://x/") and not loc.startswith("http://x//"), (path, loc)
    else:
        assert r.status in (400, 404), (path, r)
    assert b"OUTSIDE-SECRET" not in r.body
    assert b"root:" not in r.body
    assert b"application: statictest" not in r.body


@pytest.mark.parametrize("path,name", [("/static/%69ndex.html", "static/index.html"),
                                       ("/static/css%2Fsite.css", "static/css/site.css"),
                                       ("/static/50%2525.txt", "static/50%25.txt")])
def test_percent_encoded_path_served_decoded_once(srv, appdir, path, name):
    """The handler matches the decoded path, and the file is that path's:
    decoded once, as the app's PATH_INFO is ("%2525" names a file "%25")."""
    with open(os.path.join(appdir, "static", "50%25.txt"), "w") as f:
        f.write("a literal percent\n")
    r = get(srv, path)
    assert r.status == 200, r
    assert r.body == read(appdir, name)


@pytest.mark.parametrize("path", ["/static/index.html/", "/static/css/site.css//",
                                  "/f/a.txt/", "/static/index.html%2F"])
def test_file_asked_for_as_a_folder_is_404(srv, path):
    """A trailing slash names a folder: a file there is 404, as its open()
    fails on App Engine (ENOTDIR), not the file under a second URL, where
    its relative links would lead elsewhere."""
    r = get(srv, path)
    assert r.status == 404, r


def test_absolute_symlink_inside_the_app_is_served(srv, appdir):
    """A link written as an absolute path that stays in the app folder (to
    a file, or a folder on the way) was uploaded as what it points to; it
    leaves nothing, so it is served as a relative one is."""
    static = os.path.join(appdir, "static")
    os.symlink(os.path.join(static, "index.html"), os.path.join(static, "abs_in.html"))
    os.symlink(os.path.join(static, "css"), os.path.join(static, "abs_css"))
    r = get(srv, "/static/abs_in.html")
    assert r.status == 200 and r.body == read(appdir, "static/index.html"), r
    r = get(srv, "/static/abs_css/site.css")
    assert r.status == 200 and r.body == read(appdir, "static/css/site.css"), r


def test_symlink_out_logged(srv):
    assert get(srv, "/static/link_out.txt").status == 404
    assert srv.wait_stderr("outside the app folder")


def test_refused_path_is_logged_without_its_control_characters(srv):
    """The refusal's console line names the path as decoded, which the
    client chose: an escape sequence, a CR or a C1 control in it must not
    reach the server's terminal (the request line's URL never does)."""
    since = len(srv.stderr_text())
    assert get(srv, "/static/x%1b%5b2J%0dy%c2%9bz.txt").status == 404
    assert srv.wait_stderr("static file 'static/x?[2J?y?z.txt' refused", since=since), \
        srv.stderr_text()[since:]
    assert "\x1b" not in srv.stderr_text()[since:]


def test_app_yaml_by_any_is_served_only_under_root(srv, appdir):
    # a file inside the app folder is fine (upload: .*); the point is
    # that nothing outside it is reachable
    r = get(srv, "/any/app.yaml")
    assert r.status == 200 and r.body == read(appdir, "app.yaml")


def test_no_instance_started(srv):
    for p in ("/static/index.html", "/f/a.txt", "/typed/a.txt"):
        assert get(srv, p).status == 200
    assert srv.wait_stderr("/typed/a.txt")
    err = srv.stderr_text()
    assert "instance 1 starting" not in err, err
    assert "must never run" not in err


def test_pipelined_keepalive(srv, appdir):
    paths = ["/static/index.html", "/static/blob.bin", "/f/a.txt", "/static/css/site.css",
             "/static/big.bin", "/static/index.html"]
    with Conn(srv.port, timeout=30) as c:
        c.send("".join("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % p for p in paths)
               + "HEAD /static/blob.bin HTTP/1.1\r\nHost: x\r\n\r\n"
               + "GET /static/blob.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=1-2\r\n\r\n"
               + "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"
               + "GET /f/a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        for p in paths:
            r = c.read_response()
            assert r.status == 200, p
            rel = p.replace("/f/", "files/").lstrip("/")
            assert r.body == read(appdir, rel), p
        r = c.read_response(head=True)
        assert r.status == 200 and r.body == b""
        r = c.read_response()
        assert r.status == 206 and r.body == read(appdir, "static/blob.bin")[1:3]
        assert c.read_response().status == 404
        r = c.read_response()
        assert r.status == 200 and r.body == read(appdir, "files/a.txt")


def test_other_methods_are_answered_as_get(srv, appdir):
    """App Engine served a static file to any method as to a GET (a form or
    a Facebook canvas POSTing to a static page got the page). Range and
    If-Modified-Since are for GET alone (RFC 9110 14.2, 13.1.3); a matching
    If-None-Match fails any other method (13.1.2)."""
    page = read(appdir, "static/index.html")
    for m in ("POST", "PUT", "DELETE", "OPTIONS"):
        with Conn(srv.port) as c:
            c.request(m, "/static/index.html", body=b"x" * 70000)
            r = c.read_response()
            assert r.status == 200 and r.body == page, m
            assert r.header("Content-Type").startswith("text/html")
            # keep-alive still works after it
            c.request("GET", "/static/index.html")
            assert c.read_response().status == 200
    etag = get(srv, "/static/index.html").header("ETag")
    r = get(srv, "/static/index.html", [("Range", "bytes=0-1"), ("Content-Length", "0")],
            method="POST")
    assert r.status == 200 and r.body == page
    future = email.utils.formatdate(time.time() + 3600, usegmt=True)
    r = get(srv, "/static/index.html", [("If-Modified-Since", future), ("Content-Length", "0")],
            method="POST")
    assert r.status == 200 and r.body == page
    assert get(srv, "/static/index.html", [("If-None-Match", etag), ("Content-Length", "0")],
               method="POST").status == 412
    assert get(srv, "/static/index.html", [("If-None-Match", etag)]).status == 304


def test_http10(srv, appdir):
    with Conn(srv.port) as c:
        c.send("GET /static/index.html HTTP/1.0\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and r.body == read(appdir, "static/index.html")


@pytest.mark.parametrize("path", ["/private/index.html", "/members"])
def test_login_handlers_redirect_anonymous_to_sign_in(srv, path):
    """login: admin/required handlers, static ones included, send anonymous
    users to the sign-in page instead of serving them."""
    r = get(srv, path)
    assert r.status == 302
    assert r.header("Location").startswith("/_ah/login?continue=")
    assert b"hello static" not in r.body


# ---------------------------------------------------------------- gzip (RT6)

@pytest.mark.parametrize("path", ["/static/page.html", "/any/static/page.html"])
def test_gzip(srv, appdir, path):
    """static_dir and static_files alike: compressed, its ETag made weak,
    Vary: Accept-Encoding (on the plain one too), no Accept-Ranges (a range
    counts the file's bytes, not these)."""
    plain = get(srv, path)
    r = get(srv, path, GZ)
    assert r.status == 200, r
    assert r.header("Content-Encoding") == "gzip", r.headers
    assert r.header("Vary") == "Accept-Encoding"
    assert r.header("ETag") == "W/" + plain.header("ETag")
    assert r.header("Content-Type") == "text/html"
    assert r.header("Accept-Ranges") is None
    assert int(r.header("Content-Length")) == len(r.body) < len(GZ_FILES["page.html"]) // 4
    assert gzip.decompress(r.body) == read(appdir, "static/page.html")
    assert plain.header("Content-Encoding") is None
    assert plain.header("Vary") == "Accept-Encoding"
    assert plain.body == read(appdir, "static/page.html")


def test_no_transform_in_http_headers_is_never_gzipped(srv, appdir):
    """The handler's Cache-Control: no-transform forbids changing the body
    on the way (RFC 9111 5.2.2.6): the file goes out as it is, its ETag
    strong, without Vary: Accept-Encoding."""
    r = get(srv, "/untransformed/page.html", GZ)
    assert r.status == 200, r
    assert r.header("Content-Encoding") is None, r.headers
    assert r.body == read(appdir, "static/page.html")
    assert r.header("Vary") is None, r.headers
    assert r.header("ETag", "").startswith('"'), r.headers
    assert r.header("Cache-Control") == "public, no-transform", r.headers


def test_gzip_of_a_big_file(srv, appdir):
    """A file too big to deflate in the master's loop (64 KB or more) is
    compressed by a gzip thread while its request waits; once cached, the
    next client gets the same body at once."""
    data = read(appdir, "static/big.css")
    first = get(srv, "/static/big.css", GZ)
    second = get(srv, "/static/big.css", GZ)
    for r in (first, second):
        assert r.status == 200 and r.header("Content-Encoding") == "gzip", r.headers
        assert int(r.header("Content-Length")) == len(r.body) < len(data) // 4
        assert gzip.decompress(r.body) == data
    assert second.body == first.body
    line = "static gzip: compressed a file of %d bytes" % len(data)
    assert srv.wait_stderr(line), srv.stderr_text()[-3000:]
    assert srv.stderr_text().count(line) == 1


@pytest.mark.parametrize("path,headers", [
    ("/static/page.html", [("Accept-Encoding", "gzip"), ("User-Agent", PLAIN_UA)]),
    ("/static/page.html", [("Accept-Encoding", "identity"), ("User-Agent", GZIP_UA)]),
    ("/static/page.html", [("Accept-Encoding", "br, gzip;q=0"), ("User-Agent", GZIP_UA)]),
    ("/static/blob.bin", GZ),    # not a compressible type
    ("/static/logo.png", GZ),    # nor this one
    ("/static/index.html", GZ),  # 39 bytes: too small to gain anything
    ("/static/noise.txt", GZ),   # does not shrink
    ("/static/huge.css", GZ),    # over the 10 MB limit: sent with sendfile
])
def test_no_gzip(srv, appdir, path, headers):
    """Vary all the same on a compressible type: another client, or another
    version of the file, gets it compressed (gzip.h)."""
    r = get(srv, path, headers)
    assert r.status == 200
    assert r.header("Content-Encoding") is None, r.headers
    compressible = not path.endswith((".bin", ".png"))
    assert r.header_all("Vary") == (["Accept-Encoding"] if compressible else []), r.headers
    # Compressing was tried on noise.txt: its ETag is weak all the same, as
    # its 304 must say it without compressing.
    assert r.header("ETag", "").startswith('W/"' if "noise" in path else '"'), r.headers
    assert r.header("Accept-Ranges") == "bytes"
    assert r.body == read(appdir, path.replace("/static/", "static/", 1).lstrip("/"))


CLIENTS = {
    "gzip": GZ,
    "no_ae": [("User-Agent", GZIP_UA)],
    "plain_ua": [("Accept-Encoding", "gzip"), ("User-Agent", PLAIN_UA)],
}


@pytest.mark.parametrize("client", sorted(CLIENTS))
@pytest.mark.parametrize("path", ["/static/page.html", "/static/index.html", "/static/noise.txt",
                                  "/static/big.css", "/static/huge.css", "/static/logo.png",
                                  "/static/blob.bin"])
def test_head_matches_get(srv, client, path):
    """RFC 9110 9.3.2: every header field of the GET, but Date and Expires
    (a second may pass between the two)."""
    g, h, n = get_head_next(srv.port, path, CLIENTS[client], "/static/index.html")
    assert (g.status, h.status, h.body) == (200, 200, b"")
    skip = ("date", "expires")
    assert ([(k, v) for k, v in h.headers if k.lower() not in skip] ==
            [(k, v) for k, v in g.headers if k.lower() not in skip]), (h, g)
    assert n.status == 200 and n.body.startswith(b"<")


@pytest.mark.parametrize("path,vary", [("/static/page.html", "Accept-Encoding"),
                                       ("/static/logo.png", None)])
def test_vary_on_range_and_304(srv, path, vary):
    """A 206 and a 304 carry the Vary their 200 would (RFC 9110 15.3.7,
    15.4.5), for a client with gzip or without."""
    etag = get(srv, path).header("ETag")
    for headers in (GZ, []):
        r = get(srv, path, headers + [("Range", "bytes=0-9")])
        assert r.status == 206 and r.header_all("Vary") == ([vary] if vary else []), r
        r = get(srv, path, headers + [("If-None-Match", etag)])
        assert r.status == 304 and r.header_all("Vary") == ([vary] if vary else []), r


def test_gzip_not_for_range(srv, appdir):
    data = read(appdir, "static/page.html")
    r = get(srv, "/static/page.html", GZ + [("Range", "bytes=10-99")])
    assert r.status == 206
    assert r.header("Content-Encoding") is None, r.headers
    assert r.body == data[10:100]
    # A range whose If-Range does not match is the whole file: compressed.
    r = get(srv, "/static/page.html", GZ + [("Range", "bytes=10-99"), ("If-Range", '"stale"')])
    assert (r.status, r.header("Content-Encoding")) == (200, "gzip")
    assert gzip.decompress(r.body) == data


def test_if_range_date_of_a_gzipped_file_is_weak(srv, appdir):
    """The gzip body and the file share their Last-Modified, so that date
    cannot tell which the client holds part of (RFC 9110 13.1.5, 8.8.2.2):
    its If-Range gets the whole (gzipped) body, never the file's bytes to
    join to gzip ones. A client without gzip holds the file's bytes: it
    gets its range, as a gzip client does for a type never compressed."""
    data = read(appdir, "static/page.html")
    lm = get(srv, "/static/page.html", GZ).header("Last-Modified")
    ranged = [("Range", "bytes=10-99"), ("If-Range", lm)]
    r = get(srv, "/static/page.html", GZ + ranged)
    assert (r.status, r.header("Content-Encoding")) == (200, "gzip"), r
    assert gzip.decompress(r.body) == data
    r = get(srv, "/static/page.html", ranged)
    assert r.status == 206 and r.body == data[10:100], r
    png = read(appdir, "static/logo.png")
    lm = get(srv, "/static/logo.png", GZ).header("Last-Modified")
    r = get(srv, "/static/logo.png", GZ + [("Range", "bytes=10-99"), ("If-Range", lm)])
    assert r.status == 206 and r.body == png[10:100], r


def test_gzip_conditional(srv):
    """The compressed variant revalidates: its weak ETag (and the strong
    one) with If-None-Match, its date with If-Modified-Since; the 304 names
    the variant's ETag and Vary, as its 200 did."""
    g = get(srv, "/static/page.html", GZ)
    weak, lm = g.header("ETag"), g.header("Last-Modified")
    assert weak.startswith('W/"')
    for cond in (("If-None-Match", weak), ("If-None-Match", weak[2:]),
                 ("If-Modified-Since", lm)):
        with Conn(srv.port) as c:
            c.request("GET", "/static/page.html", GZ + [cond])
            r = c.read_response()
            assert r.status == 304, cond
            assert (r.header("ETag"), r.header("Vary")) == (weak, "Accept-Encoding"), r.headers
            assert r.header("Content-Encoding") is None
            assert r.body == b"" and c.buf == b""
    # The same validator from a client without gzip: its 304 is the plain
    # one, whose 200 varies on Accept-Encoding too.
    r = get(srv, "/static/page.html", [("If-None-Match", weak)])
    assert (r.status, r.header("ETag"), r.header("Vary")) == (304, weak[2:], "Accept-Encoding")


@pytest.mark.parametrize("name,data", [("cold.html", _LINE * 500),
                                       ("cold_noise.txt", random.Random(11).randbytes(5000))])
def test_gzip_304_decided_without_compressing(srv, appdir, name, data):
    """A 304 has no body: its ETag is decided without compressing a file
    the cache does not hold (after a restart, or evicted). The 200 and the
    304 name the same ETag, whether its compressed body is smaller or not,
    and that ETag revalidates."""
    path = os.path.join(appdir, "static", name)
    with open(path, "wb") as f:
        f.write(data)
    st = os.stat(path)
    compressed = "static gzip: compressed a file of %d bytes (inode %d)" % (st.st_size, st.st_ino)
    url = "/static/" + name
    weak = "W/" + get(srv, url).header("ETag")  # a client without gzip: nothing compressed
    r = get(srv, url, GZ + [("If-None-Match", weak)])
    assert (r.status, r.header("ETag"), r.body) == (304, weak, b""), r.headers
    # Its request line is logged after the answer was decided.
    assert srv.wait_stderr('"GET %s HTTP/1.1" 304' % url), srv.stderr_text()[-2000:]
    assert compressed not in srv.stderr_text()
    g = get(srv, url, GZ)
    assert (g.status, g.header("ETag")) == (200, weak), g.headers
    assert g.header("Content-Encoding") == ("gzip" if name.endswith(".html") else None)
    assert srv.wait_stderr(compressed), srv.stderr_text()[-2000:]
    r = get(srv, url, GZ + [("If-None-Match", g.header("ETag"))])
    assert (r.status, r.header("ETag")) == (304, weak), r.headers


def test_gzip_follows_file_changes(srv, appdir):
    """Compressed bodies are kept between requests, but never outlive the
    file version they came from."""
    path = os.path.join(appdir, "static", "changing.txt")
    first, second = b"first version\n" * 100, b"second version, longer\n" * 100
    with open(path, "wb") as f:
        f.write(first)
    assert gzip.decompress(get(srv, "/static/changing.txt", GZ).body) == first
    assert gzip.decompress(get(srv, "/static/changing.txt", GZ).body) == first
    with open(path, "wb") as f:
        f.write(second)
    assert gzip.decompress(get(srv, "/static/changing.txt", GZ).body) == second


def test_gzip_pipelined(srv, appdir):
    """Compressed bodies (from memory, compressed in the loop or first by a
    gzip thread) and sendfile bodies keep their order on one connection."""
    paths = ["/static/order.css", "/static/page.html", "/static/big.bin", "/static/page.html",
             "/static/huge.css"]
    with Conn(srv.port, timeout=30) as c:
        c.send("".join("GET %s HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n"
                       "User-Agent: %s\r\n\r\n" % (p, GZIP_UA) for p in paths))
        for p in paths:
            r = c.read_response()
            data = read(appdir, p.lstrip("/"))
            body = gzip.decompress(r.body) if r.header("Content-Encoding") else r.body
            assert (r.status, body == data) == (200, True), p
            assert r.header("Content-Encoding") == ("gzip" if p.endswith(("order.css",
                                                                          ".html")) else None), p


# Hex text of random bytes: deflate shrinks it by about 40%, at some
# 25 MB/s here, so 10 MiB of it (the most one app file may hold) keep a
# gzip thread busy for about 0.4 s.
SLOW_BYTES = 10 << 20


@pytest.fixture
def slow_gzip(serve, tmp_path):
    """A server compressing a big static file for a client that waits."""
    app = write_app(tmp_path / "slowzip", "runtime: python27\nthreadsafe: true\n"
                    "handlers:\n- url: /static\n  static_dir: static\n",
                    {"static/slow.txt": random.Random(1).randbytes(SLOW_BYTES // 2).hex(),
                     "static/small.txt": "small\n"})
    srv = serve(app, "--log_level", "debug")
    big = Conn(srv.port, timeout=120)
    big.request("GET", "/static/slow.txt", GZ)
    assert srv.wait_stderr("static gzip: compressing a file of %d bytes" % SLOW_BYTES), \
        srv.stderr_text()[-3000:]
    return srv, big


def test_server_answers_while_a_static_file_is_compressed(slow_gzip):
    srv, big = slow_gzip
    assert get(srv, "/static/small.txt").body == b"small\n"
    r = big.read_response()
    big.close()
    assert r.header("Content-Encoding") == "gzip" and len(r.body) < SLOW_BYTES
    expected = random.Random(1).randbytes(SLOW_BYTES // 2).hex().encode()
    assert gzip.decompress(r.body) == expected


def test_client_gone_during_static_compression(slow_gzip):
    """The task is dropped, the request logged 499, and the server serves
    on."""
    srv, big = slow_gzip
    big.reset()
    assert srv.wait_stderr('"GET /static/slow.txt HTTP/1.1" 499'), srv.stderr_text()[-3000:]
    assert get(srv, "/static/small.txt").body == b"small\n"
    assert srv.stop() == 0


def test_stop_waits_for_a_static_compression(slow_gzip):
    """SIGTERM lets running requests finish: one whose file is being
    compressed is answered, then the server exits 0."""
    srv, big = slow_gzip
    srv.send_signal(signal.SIGTERM)
    r = big.read_response()
    big.close()
    assert r.status == 200 and r.header("Connection") == "close"
    assert r.header("Content-Encoding") == "gzip"
    assert len(gzip.decompress(r.body)) == SLOW_BYTES
    assert srv.wait(60) == 0


def test_requests_for_a_file_being_compressed_share_its_compression(slow_gzip):
    """Clients asking for a file while it is compressed wait for that
    compression instead of each starting one (a burst for a big file after
    a deploy cost one deflate per client and filled the cache with copies);
    one of them leaving does not cancel it for the others."""
    srv, big = slow_gzip
    # No waiting on the server between these: however late they come (the
    # compression takes some 0.4 s), there is one compression, which each
    # either waits for or finds cached.
    others = [Conn(srv.port, timeout=120) for _ in range(3)]
    for c in others:
        c.request("GET", "/static/slow.txt", GZ)
    gone = others.pop()
    gone.reset()
    expected = random.Random(1).randbytes(SLOW_BYTES // 2).hex().encode()
    for c in [big] + others:
        r = c.read_response()
        c.close()
        assert r.status == 200 and r.header("Content-Encoding") == "gzip", r.headers
        assert gzip.decompress(r.body) == expected
    err = srv.stderr_text()
    assert err.count("static gzip: compressing a file of %d bytes" % SLOW_BYTES) == 1, err[-3000:]
    assert err.count("static gzip: compressed a file of %d bytes" % SLOW_BYTES) == 1, err[-3000:]
    # The one that left is logged 499 if it left while waiting (its
    # request may also have been read only with its reset, or been
    # answered before it): the compression went on for the others.
    assert err.count('"GET /static/slow.txt HTTP/1.1" 499') <= 1, err[-3000:]
    assert srv.stop() == 0
