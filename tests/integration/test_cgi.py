"""CGI script handlers (RT3): the request in os.environ and sys.stdin, the
response read from sys.stdout, scripts with main() cached per instance."""
import json
import os
import py_compile

import pytest

from harness import REPO, app_path, copy_app, http_request, write_app


@pytest.fixture(scope="module")
def srv(mserve):
    # One instance: caching is observable.
    return mserve(app_path("cgi"), "--max_instances", "1")


def get(srv, path, method="GET", headers=None, body=None):
    return http_request(srv.port, method, path, headers, body)


def get_json(srv, path, headers=None):
    r = get(srv, path, headers=headers)
    assert r.status == 200, (r, srv.stderr_text()[-3000:])
    return json.loads(r.body)


def test_cached_script_counts_on_one_instance(serve):
    # A fresh server, so the counts start at 1.
    s = serve(app_path("cgi"), "--max_instances", "1")
    got = [get_json(s, "/counter") for _ in range(3)]
    assert [g["count"] for g in got] == [1, 2, 3], got
    assert len({g["instance_id"] for g in got}) == 1, got
    # The file itself ran once; main() alone ran afterwards.
    assert [g["executions"] for g in got] == [1, 1, 1]
    assert got[0]["name"] == "__main__"


def test_uncached_script_runs_every_time(srv):
    got = [get_json(srv, "/uncached") for _ in range(3)]
    runs = [g["runs"] for g in got]
    assert runs == list(range(runs[0], runs[0] + 3)), got
    assert [g["count"] for g in got] == [1, 1, 1], "globals survived a re-execution"
    assert len({g["instance_id"] for g in got}) == 1
    assert got[0]["name"] == "__main__"
    # Compiled once per instance, not on every request.
    assert all(g["same_code"] for g in got), got


def test_uncached_script_edited_runs_its_new_text(serve, tmp_path):
    d = copy_app("cgi", tmp_path / "app")
    s = serve(d, "--max_instances", "1")
    assert get_json(s, "/uncached")["count"] == 1
    path = os.path.join(d, "scripts", "uncached.py")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace('globals().get("count", 0) + 1', '41 + 1'))
    got = get_json(s, "/uncached")
    assert got["count"] == 42 and not got["same_code"], got


def test_environment_has_request(srv):
    assert get_json(srv, "/uncached?a=1&b=2")["query"] == "a=1&b=2"


@pytest.mark.parametrize("path,script", [("/uncached", "uncached.py"), ("/counter", "counter.py")])
def test_path_translated_is_the_script_file(srv, path, script):
    """App Engine's runtime set PATH_TRANSLATED to the script's file, which
    scripts used to find files beside them; a cached main() too."""
    want = os.path.realpath(os.path.join(app_path("cgi"), "scripts", script))
    for _ in range(2):
        assert os.path.realpath(get_json(srv, path)["path_translated"] or "") == want


def test_script_is_main_module_while_it_runs(srv):
    """sys.modules["__main__"] is the script while it (or its cached main())
    runs, as App Engine's runtime made it: pickle finds the classes the
    script defines there (an object of one put in memcache, say)."""
    for _ in range(2):  # executed, then its cached main()
        assert get_json(srv, "/dyn/pickles") == {"x": 3, "main_is_script": True}


SHARED_SCRIPT = """import json
import helper

hits = []


def main():
    hits.append(1)
    print("Content-Type: application/json")
    print()
    print(json.dumps({"hits": len(hits), "helper_sees": helper.hits_seen(),
                      "name": __name__}))


if __name__ == "__main__":
    main()
"""

SHARED_HELPER = """def hits_seen():
    import handlers.page
    return len(handlers.page.hits)
"""


IMPORTED_SCRIPT = """import json
import tally

tally.executions += 1


def main():
    print("Content-Type: application/json")
    print()
    print(json.dumps({"executions": tally.executions}))


if __name__ == "__main__":
    main()
"""

IMPORTING_MAIN = """def app(environ, start_response):
    import handlers.imported
    import email.utils
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"imported %s" % email.utils.formatdate(0).encode()]
"""


def test_script_is_the_module_its_path_names(serve, tmp_path):
    """App Engine's runtime ran handlers/page.py as __main__ but kept it in
    sys.modules as handlers.page too (and on its package): a module that
    imports it by that name gets the script itself, with its globals, not
    a second copy that runs the file's top level again (which, without the
    __name__ guard, printed a second response into the first). A script
    the app imported by that name before its first request has its main()
    called, its file not run again. A name an import would not give the
    script (email/utils.py: the standard library's email.utils) stays the
    other module's."""
    d = write_app(tmp_path / "app", "runtime: python27\napi_version: 1\nthreadsafe: false\n"
                  "handlers:\n- url: /page\n  script: handlers/page.py\n"
                  "- url: /imported\n  script: handlers/imported.py\n"
                  "- url: /email\n  script: email/utils.py\n"
                  "- url: /py2\n  script: py2/page.py\n"
                  "- url: /wsgi\n  script: main.app\n",
                  {"handlers/__init__.py": "", "handlers/page.py": SHARED_SCRIPT,
                   "helper.py": SHARED_HELPER, "handlers/imported.py": IMPORTED_SCRIPT,
                   "tally.py": "executions = 0\n", "main.py": IMPORTING_MAIN,
                   "email/utils.py": 'print("Content-Type: text/plain\\n\\nown")\n',
                   "py2/__init__.py": 'print "a package not ported to Python 3"\n',
                   "py2/page.py": 'print("Content-Type: text/plain\\n\\npage")\n'})
    s = serve(d, "--max_instances", "1")
    got = [get_json(s, "/page") for _ in range(2)]
    assert got == [{"hits": 1, "helper_sees": 1, "name": "__main__"},
                   {"hits": 2, "helper_sees": 2, "name": "__main__"}], got
    assert get(s, "/email").body == b"own\n"
    assert get(s, "/py2").body == b"page\n"  # as before: its package is never imported
    r = get(s, "/wsgi")
    assert r.body == b"imported Thu, 01 Jan 1970 00:00:00 -0000", (r, s.stderr_text()[-2000:])
    assert [get_json(s, "/imported") for _ in range(2)] == [{"executions": 1}] * 2


def test_status_header(srv):
    r = get(srv, "/dyn/status")
    assert r.status == 404 and r.reason == "Not Found"
    assert r.header("X-Custom") == "hello"
    assert r.header("Status") is None
    assert r.body == b"status page\n"
    for code, reason in ((201, "Created"), (429, "Too Many Requests"), (299, "Unknown")):
        r = get(srv, "/dyn/status?s=%d" % code)
        assert (r.status, r.reason) == (code, reason)
    r = get(srv, "/dyn/status?s=418+Teapot+Time")
    assert (r.status, r.reason) == (418, "Teapot Time")


@pytest.mark.parametrize("code,ctype", [(200, "text/html"), (204, None), (205, None),
                                        (304, None)])
def test_untyped_output_is_html_but_for_answers_without_content(srv, code, ctype):
    """As a WSGI handler's (README): an answer without a Content-Type goes
    out as text/html, but a 204, 205 or 304, which have no content."""
    r = get(srv, "/dyn/untyped?s=%d" % code)
    assert r.status == code, (r, srv.stderr_text()[-2000:])
    assert r.header("Content-Type") == ctype
    assert r.body == b""


def test_apps_modules_named_like_the_standard_librarys_leave_the_runtime_alone(serve, tmp_path):
    """The app folder comes first on sys.path, so an app may have its own
    inspect or http: what the runtime imports from the standard library
    on the app's behalf (to see that main() takes no arguments, to name a
    bare status) must still be the standard library's."""
    d = copy_app("cgi", tmp_path / "app")
    with open(os.path.join(d, "inspect.py"), "w") as f:
        f.write("raise ImportError('the app shadows inspect')\n")
    os.mkdir(os.path.join(d, "http"))
    with open(os.path.join(d, "http", "__init__.py"), "w") as f:
        f.write("raise ImportError('the app shadows http')\n")
    s = serve(d, "--max_instances", "1")
    assert [get_json(s, "/counter")["count"] for _ in range(2)] == [1, 2]
    r = get(s, "/dyn/status?s=201")
    assert (r.status, r.reason) == (201, "Created"), (r, s.stderr_text()[-2000:])


def test_script_uploaded_compiled_only_runs_from_its_pyc(serve, tmp_path):
    """App Engine took .pyc files without their source, and a CGI handler
    still names its script by the .py name: the .pyc beside it serves,
    cached like a source script (main() alone runs afterwards). One that
    skip_files leaves out was never uploaded: 404."""
    d = write_app(tmp_path / "app", """application: compiled
runtime: python27
api_version: 1
threadsafe: false
skip_files:
- ^skipped/.*
handlers:
- url: /compiled
  script: scripts/compiled.py
- url: /skipped
  script: skipped/compiled.py
""")
    for folder in ("scripts", "skipped"):
        src = os.path.join(d, folder, "compiled.py")
        os.makedirs(os.path.dirname(src))
        with open(src, "w") as f:
            f.write(COMPILED_SCRIPT)
        py_compile.compile(src, cfile=src + "c", doraise=True)
        os.remove(src)
    s = serve(d, "--max_instances", "1")
    got = [get(s, "/compiled") for _ in range(2)]
    assert [r.status for r in got] == [200, 200], (got, s.stderr_text()[-2000:])
    assert [json.loads(r.body) for r in got] == [
        {"count": 1, "name": "__main__", "file": os.path.join(d, "scripts", "compiled.pyc")},
        {"count": 2, "name": "__main__", "file": os.path.join(d, "scripts", "compiled.pyc")}]
    assert get(s, "/skipped").status == 404


COMPILED_SCRIPT = """import json
import os
count = 0
def main():
    global count
    count += 1
    print("Content-Type: application/json")
    print()
    print(json.dumps({"count": count, "name": __name__, "file": os.environ["PATH_TRANSLATED"]}))
if __name__ == "__main__":
    main()
"""


def test_location_without_status_redirects(srv):
    r = get(srv, "/dyn/redirect")
    assert r.status == 302
    assert r.header("Location") == "/counter"
    assert r.body == b""


def test_headers_only_output(srv):
    r = get(srv, "/dyn/headers_only")
    assert r.status == 200
    assert r.header("X-Only") == "yes"
    assert r.header("Content-Type") == "text/html"  # App Engine's default
    assert r.body == b""


def test_post_body_as_text(srv):
    body = "name=gaelic&text=h\u00e9llo".encode("utf-8")
    r = get(srv, "/dyn/echo", "POST", [("Content-Type", "application/x-www-form-urlencoded")],
            body)
    assert r.status == 200, (r, srv.stderr_text()[-2000:])
    assert r.header("X-Kind") == "text"
    assert r.header("X-Content-Length") == str(len(body))
    assert r.body == body


def test_post_body_as_bytes(srv):
    body = bytes(range(256)) * 4 + b"\r\n\r\nend"
    r = get(srv, "/dyn/echo?bytes", "POST", [("Content-Type", "application/octet-stream")],
            body)
    assert r.status == 200, (r, srv.stderr_text()[-2000:])
    assert r.header("X-Kind") == "bytes"
    assert r.body == body


def test_script_that_writes_nothing_is_an_empty_200(srv):
    """App Engine's runtime read a CGI head up to the first line that was
    no header line, or the end of the output: a script that writes
    nothing (a cron or task handler doing its work) was answered 200,
    not failed (a task would then be retried for ever)."""
    r = get(srv, "/dyn/silent")
    assert r.status == 200, (r, srv.stderr_text()[-2000:])
    assert (r.header("Content-Type"), r.body) == ("text/html", b"")


def test_head_without_a_blank_line_ends_with_the_output(srv):
    r = get(srv, "/dyn/headers_no_blank")
    assert r.status == 200, (r, srv.stderr_text()[-2000:])
    assert (r.header("Content-Type"), r.body) == ("text/plain", b"")
    r = get(srv, "/dyn/redirect_no_blank")
    assert (r.status, r.header("Location"), r.body) == (301, "/counter", b""), r


@pytest.mark.parametrize("script,ctype,body", [
    # Its first line is no header: all of it is the body.
    ("body_without_head", "text/html", b"Hello, plain output\nsecond: line\n"),
    # The first line that is no header ends the head and begins the body.
    ("head_ended_by_text", "text/plain", b"this is not a header\n\nbody\n"),
])
def test_a_line_that_is_no_header_begins_the_body(srv, script, ctype, body):
    r = get(srv, "/dyn/" + script)
    assert r.status == 200, (r, srv.stderr_text()[-2000:])
    assert (r.header("Content-Type"), r.body) == (ctype, body)


def test_header_line_that_cannot_be_sent_is_500(srv):
    """A line shaped as a header whose name is no HTTP token cannot be
    sent as one: the answer is the runtime's 500, the reason logged."""
    r = get(srv, "/dyn/bad_header_name")
    assert r.status == 500
    assert b"the script's body" not in r.body
    assert srv.wait_stderr("scripts/bad_header_name.py: malformed CGI output: "
                           "invalid header name"), srv.stderr_text()[-2000:]


@pytest.mark.parametrize("query,reason", [
    ("v=a%0D%0AX-Injected:%201", "control character in header X-Value"),
    ("v=a%0D%0A%0D%0Ainjected%20body", "control character in header X-Value"),
    ("s=200%20OK%0D%0AX-Injected:%201", "status must be a code 200-599"),
])
def test_run_wsgi_app_refuses_line_breaks_in_the_head(srv, query, reason):
    """run_wsgi_app checks status and headers as a WSGI handler's are
    checked (PEP 3333: no control characters): a line break in a value
    would otherwise become a header, or the body, of its own in the CGI
    output."""
    assert get(srv, "/dyn/wsgi_headers?v=fine").header("x-value") == "fine"
    since = len(srv.stderr_text())
    r = get(srv, "/dyn/wsgi_headers?" + query)
    assert r.status == 500, r
    assert r.header("x-injected") is None and b"injected" not in r.body, r
    assert srv.wait_stderr(reason, since=since), srv.stderr_text()[since:]


def test_run_bare_wsgi_app_takes_a_status_code_alone(srv):
    """As a WSGI handler's start_response does (test_wsgi)."""
    r = get(srv, "/dyn/wsgi_headers?s=404")
    assert (r.status, r.reason, r.body) == (404, "Not Found", b"wsgi in cgi"), r


def test_wsgiref_cgi_handler_gets_the_request_as_pep_3333_has_it(srv):
    """wsgiref.handlers.CGIHandler builds its environ from os.environ: what
    a WSGI handler gets in its environ, each byte past ASCII one latin-1
    character, not those characters' UTF-8 taken as bytes once more."""
    utf8_as_latin1 = "caf\u00e9".encode().decode("latin-1")
    got = get_json(srv, "/wsgiref/caf%C3%A9?q=%C3%A9",
                   headers=[("X-Probe", utf8_as_latin1), ("Cookie", "k=" + utf8_as_latin1)])
    assert got == {"PATH_INFO": "/wsgiref/" + utf8_as_latin1, "QUERY_STRING": "q=%C3%A9",
                   "HTTP_X_PROBE": utf8_as_latin1, "HTTP_COOKIE": "k=" + utf8_as_latin1}, got


def test_wsgiref_handlers_keep_no_variables_of_the_request_that_imported_them(serve):
    """wsgiref.handlers.BaseHandler.os_environ, the base of every environ a
    SimpleHandler or BaseCGIHandler builds, is os.environ copied as the
    module is imported: here the variables of the request that imported it.
    A later request without a cookie must not get that request's."""
    s = serve(app_path("cgi"), "--max_instances", "1")  # no request has imported it yet
    r = get(s, "/dyn/wsgiref_base_bridge", "POST", [("Cookie", "session=first-user")], b"abc")
    assert r.status == 200, (r, s.stderr_text()[-3000:])
    assert json.loads(r.body) == {"HTTP_COOKIE": "session=first-user", "CONTENT_LENGTH": "3"}
    assert get_json(s, "/dyn/wsgiref_base_bridge") == {"HTTP_COOKIE": None, "CONTENT_LENGTH": None}


def test_import_error_is_500_with_traceback(srv):
    for _ in range(2):  # not cached: the second request fails the same way
        r = get(srv, "/dyn/broken")
        assert r.status == 500
    assert srv.wait_stderr("ModuleNotFoundError: No module named "
                             "'no_such_module_for_gaelic_cgi'"), srv.stderr_text()[-2000:]
    assert "scripts/broken.py: Traceback (most recent call last):" in srv.stderr_text()


def test_syntax_error_is_500_with_traceback(srv):
    r = get(srv, "/dyn/syntax")
    assert r.status == 500
    assert srv.wait_stderr("scripts/syntax.py: SyntaxError"), srv.stderr_text()[-2000:]


def test_exception_after_output_is_500(srv):
    r = get(srv, "/dyn/fails")
    assert r.status == 500
    assert b"partial output" not in r.body
    assert srv.wait_stderr("RuntimeError: CGI-FAILURE-MARKER")


def test_sys_exit_ends_script_normally(srv):
    r = get(srv, "/dyn/exits")
    assert r.status == 200
    assert r.body == b"bye\n"


@pytest.mark.parametrize("query", ["", "buffer"])
def test_closing_stdout_ends_the_output(srv, query):
    # What was written before the close is the response, as under a web
    # server's CGI; later requests get a stdout of their own.
    for _ in range(2):
        r = get(srv, "/dyn/closes_stdout?" + query)
        assert (r.status, r.body) == (200, b"all written\n"), (r, srv.stderr_text()[-2000:])


@pytest.mark.parametrize("query", ["", "close"])
def test_stdout_rewrapped_by_the_script_is_flushed_at_its_end(srv, query):
    # Unless the script closed it itself: then it is not flushed again, as
    # the interpreter's exit would not.
    for _ in range(2):
        r = get(srv, "/dyn/rewraps_stdout?" + query)
        assert (r.status, r.body) == (200, "h\u00e9llo\n".encode()), (r, srv.stderr_text()[-2000:])
    # The runtime's stdout is back for the next script.
    assert get(srv, "/dyn/exits").body == b"bye\n"


@pytest.mark.parametrize("query,body", [("codecs", "h\u00e9llo\n".encode()),
                                        ("latin-1", "h\u00e9llo\n".encode("latin-1"))],
                         ids=["codecs", "latin-1"])
def test_stdout_detached_by_the_script_is_its_output(srv, query, body):
    """sys.stdout.detach() hands the script the binary buffer, which its
    own writer then fills: that is the response, not a 500."""
    for _ in range(2):
        r = get(srv, "/dyn/detaches_stdout?" + query)
        assert (r.status, r.body) == (200, body), (r, srv.stderr_text()[-2000:])
    # The runtime's stdout is back for the next script.
    assert get(srv, "/dyn/exits").body == b"bye\n"


@pytest.mark.parametrize("which", ["exit", "quit"])
def test_site_exit_and_quit_end_script_normally(srv, which):
    r = get(srv, "/dyn/quits?" + which)
    assert r.status == 200
    assert r.body == b"Use %s() to exit\n" % which.encode()


def test_missing_script_is_404_and_logged(srv):
    r = get(srv, "/dyn/no_such_script")
    assert r.status == 404
    assert srv.wait_stderr("scripts/no_such_script.py: script file not found")


def test_dotdot_request_path_is_redirected_without_it(srv):
    r = get(srv, "/dyn/../main")
    assert r.status == 302, r
    assert r.header("Location").endswith("/main"), r


def test_dotdot_script_path_is_refused(srv):
    r = get(srv, "/dot../main")
    assert r.status == 500
    assert b"WSGI" not in r.body
    assert srv.wait_stderr("scripts/../main.py: refused")


def test_symlink_out_of_app_is_refused(serve, tmp_path):
    outside = tmp_path / "outside.py"
    outside.write_text('print("Content-Type: text/plain")\nprint()\nprint("LEAKED")\n')
    d = copy_app("cgi", tmp_path / "app")
    os.symlink(str(outside), os.path.join(d, "scripts", "escape.py"))
    s = serve(d)
    r = get(s, "/dyn/escape")
    assert r.status == 500
    assert b"LEAKED" not in r.body
    assert s.wait_stderr("scripts/escape.py: refused")


def test_background_thread_prints_stay_out_of_a_cgi_response(serve, tmp_path):
    """App Engine ran CGI only in threadsafe: false apps, one request at a
    time per instance; what still runs beside a CGI request is a backend's
    background thread. sys.stdout is per request, so the thread's prints go
    to its own log and the CGI response holds only the script's output (its
    own thread's included)."""
    d = copy_app("cgi", tmp_path / "app")
    with open(os.path.join(d, "backends.yaml"), "w") as f:
        f.write("backends:\n- name: worker\n  instances: 1\n  options: public\n")
    s = serve(d)
    worker = [("Host", "worker.localhost:%d" % s.port)]

    def background(action):
        r = get(s, "/background?" + action, headers=worker)
        assert r.status == 200, (r, s.stderr_text()[-3000:])
        return json.loads(r.body)["printed_during_cgi"]

    background("start")
    try:
        for token in ("alpha", "bravo"):
            before = background("count")
            r = get(s, "/dyn/slow?" + token, headers=worker)
            assert r.status == 200, (r, s.stderr_text()[-2000:])
            want = "".join("%s-%d\n" % (token, i) for i in range(5)) + token + "-thread\n"
            assert r.body.decode() == want
            # The thread did print while the script ran (every 10 ms of 0.5 s).
            assert background("count") > before
    finally:
        background("stop")
    assert "BG-PRINT-" in s.wait_logs("BG-PRINT-")


def test_wsgi_handler_print_is_log_output(srv):
    r = get(srv, "/wsgi")
    assert r.status == 200
    assert r.body == b"wsgi response"
    # Stored as an info line of the request's app log (RT9).
    out = srv.wait_logs("WSGI-PRINT-MARKER")
    assert "\t1:" in out and "WSGI-PRINT-MARKER" in out, out
    # A CGI request after it is unaffected.
    assert get(srv, "/dyn/exits").body == b"bye\n"


def test_wsgi_handler_that_replaces_stdout_leaves_cgi_scripts_alone(srv):
    # sys.stdout is process-wide: the runtime puts its own back.
    assert get(srv, "/wsgi?replace_stdout").status == 200
    r = get(srv, "/dyn/exits")
    assert (r.status, r.body) == (200, b"bye\n"), (r, srv.stderr_text()[-2000:])


def test_example_app(serve):
    s = serve(os.path.join(REPO, "examples", "cgi"))
    counts = []
    for _ in range(3):
        r = get(s, "/")
        assert r.status == 200, (r, s.stderr_text()[-2000:])
        counts.append(r.body.decode())
    assert [c.split(" has served this page ")[1] for c in counts] == \
        ["1 time(s).\n", "2 time(s).\n", "3 time(s).\n"]
    r = get(s, "/env?x=1", "POST", [("Content-Type", "text/plain")], b"hello body")
    assert r.status == 200
    assert r.header("Content-Type") == "text/html; charset=utf-8"
    assert b"<th>QUERY_STRING</th><td>x=1</td>" in r.body
    assert b"<pre>hello body</pre>" in r.body


GUESTBOOK_CGI = """\
import cgi

from google.appengine.ext import webapp
from google.appengine.ext.webapp.util import run_wsgi_app


class Sign(webapp.RequestHandler):
    def post(self):
        self.response.out.write('<pre>%s</pre><input value="%s">%r' % (
            cgi.escape(self.request.get('content')),
            cgi.escape(self.request.get('content'), quote=True),
            (cgi.parse_qs('a=1&a=2&b='), cgi.parse_qsl('a=1&b=', keep_blank_values=True))))


application = webapp.WSGIApplication([('/sign', Sign)])


def main():
    run_wsgi_app(application)


if __name__ == '__main__':
    main()
"""


def test_cgi_escape_of_the_python27_guestbook(serve, tmp_path):
    """App Engine's python27 guestbook escaped what users wrote with
    cgi.escape, and older code parsed queries with cgi.parse_qs; Python
    3.8 removed all three, so signing the guestbook raised AttributeError.
    They are back with Python 2.7's meaning (quote only when asked, no ')."""
    d = write_app(tmp_path / "guestbook", "runtime: python27\napi_version: 1\n"
                  "threadsafe: false\nhandlers:\n- url: /.*\n  script: guestbook.py\n",
                  {"guestbook.py": GUESTBOOK_CGI})
    s = serve(d)
    r = s.post("/sign", data={"content": "<b>Tom & \"Jerry\"</b> 'hi'"})
    assert r.status_code == 200, r.text
    assert r.text == ("<pre>&lt;b&gt;Tom &amp; \"Jerry\"&lt;/b&gt; 'hi'</pre>"
                      "<input value=\"&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt; 'hi'\">"
                      "({'a': ['1', '2']}, [('a', '1'), ('b', '')])")
