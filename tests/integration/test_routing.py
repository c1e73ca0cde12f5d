"""app.yaml handlers (RT1): ordered, anchored url patterns, `\\1` group
substitution into WSGI object paths, 404 when nothing matches."""
import pytest

from harness import app_path, http_request, write_app


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


DECODED_APP_YAML = """\
runtime: python27
threadsafe: true
handlers:
- url: /admin.*
  script: echo.app
  login: admin
- url: /caf\u00e9 menu
  script: echo.app
- url: /files
  static_dir: files
- url: /.*
  script: echo.app
"""

ECHO_PY = ("def app(environ, start_response):\n"
           "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
           "    return [('PATH_INFO=' + environ['PATH_INFO']).encode('latin-1')]\n")  # PEP 3333: bytes as latin-1


@pytest.fixture(scope="module")
def decoded_srv(mserve, tmp_path_factory):
    d = write_app(tmp_path_factory.mktemp("decoded") / "app", DECODED_APP_YAML,
                  {"echo.py": ECHO_PY, "files/a b.txt": "spaced\n", "files/100%.txt": "full\n"})
    return mserve(d)


@pytest.mark.parametrize("path", ["/%61dmin", "/%61dmin/x", "/adm%69n"])
def test_handlers_match_the_decoded_path(decoded_srv, path):
    """App Engine matched url patterns against the percent-decoded path, the
    PATH_INFO the app sees: an encoded letter must not get past the
    `login: admin` handler to the catch-all with PATH_INFO /admin."""
    r = http_request(decoded_srv.port, "GET", path)
    assert r.status == 302, r
    assert "/_ah/login" in r.header("Location"), r


def test_pattern_with_space_and_non_ascii_matches(decoded_srv):
    r = http_request(decoded_srv.port, "GET", "/caf%C3%A9%20menu")
    assert r.status == 200, r
    assert r.body == "PATH_INFO=/café menu".encode("utf-8")


@pytest.mark.parametrize("path", ["/_ah/%73tart", "/_ah/st%6fp", "/%5Fah/start"])
def test_encoded_reserved_paths_do_not_reach_the_app(decoded_srv, path):
    r = http_request(decoded_srv.port, "GET", path)
    assert r.status == 404, r
    assert b"PATH_INFO" not in r.body


@pytest.mark.parametrize("path,rel", [("/files/a%20b.txt", "spaced"),
                                      ("/files/100%25.txt", "full"),
                                      ("/files%2Fa%20b.txt", "spaced")])
def test_static_files_by_decoded_path(decoded_srv, path, rel):
    r = http_request(decoded_srv.port, "GET", path)
    assert r.status == 200, r
    assert r.body == (rel + "\n").encode()


@pytest.mark.parametrize("path,location", [
    ("/foo/../admin", "/admin"),
    ("/x/%2e%2E/admin?a=1&b=%2F", "/admin?a=1&b=%2F"),
    ("/./files/a b", "/files/a%20b"),
    ("/..", "/"),
    ("/x/..//evil.example/", "//evil.example/"),
    # bytes a client sent raw: a Location is a URI, so they go escaped
    ("/caf\xc3\xa9/./x?q=caf\xc3\xa9", "/caf%C3%A9/x?q=caf%C3%A9"),
])
def test_dot_segments_redirect_to_the_normalized_path(decoded_srv, path, location):
    """App Engine answered a path with "." or ".." segments with a 302 to the
    path without them (the query kept), rather than routing it as it is."""
    r = http_request(decoded_srv.port, "GET", path.replace(" ", "%20"))
    assert r.status == 302, r
    loc = r.header("Location")
    assert loc.startswith("http://"), loc  # absolute: "//host" is another host's URL
    assert loc.split("/", 3)[3] == location[1:], loc
    assert b"PATH_INFO" not in r.body



@pytest.mark.parametrize("host", [":80", "", "a%20b"])
def test_dot_segments_redirect_without_a_plain_host_names_the_server(decoded_srv, host):
    """A Host the Location cannot carry as it is (a port with no host name
    before it, which would make "http://:80/", no http URI per RFC 9110
    4.2.1) gives way to the server's own address."""
    r = http_request(decoded_srv.port, "GET", "/x/../admin", [("Host", host)])
    assert r.status == 302, r
    assert r.header("Location") == "http://127.0.0.1:%d/admin" % decoded_srv.port, r


CGI_BY_URL_APP_YAML = """\
runtime: python27
threadsafe: false
handlers:
- url: /(.*)\\.py
  script: \\1.py
"""

CGI_HELLO = 'print("Content-Type: text/plain")\nprint("")\nprint("hello from the app")\n'


@pytest.mark.parametrize("path", ["/$PYTHON_LIB/webapp2.py", "/%24PYTHON_LIB/webapp2.py",
                                  "/$PYTHON_LIB/google/appengine/runtime/cgi.py"])
def test_python_lib_from_the_url_is_a_path_in_the_app(serve, tmp_path, path):
    # "$PYTHON_LIB/" names the runtime's library only where app.yaml writes
    # it: from the url it was a client choosing a library file to run.
    d = write_app(tmp_path / "app", CGI_BY_URL_APP_YAML, {"cgi/hi.py": CGI_HELLO})
    s = serve(d)
    assert http_request(s.port, "GET", "/cgi/hi.py").body == b"hello from the app\n"
    r = http_request(s.port, "GET", path)
    assert r.status == 404, r
