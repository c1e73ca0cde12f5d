"""error_handlers (RT1): errors the server generates for a dynamic request
are answered with the app's page (its own status kept, the file's content
type), statuses the app returns itself are not; the pages are checked
at start (10 KB, inside the app folder) with exit code 2."""
import os
import re
import socket
import time

import pytest

from harness import Conn, app_path, copy_app, http_request, run_gaelic

PAGES = os.path.join(app_path("error_pages"), "errors")


def page(name):
    with open(os.path.join(PAGES, name), "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def srv(mserve):
    return mserve(app_path("error_pages"))


@pytest.mark.parametrize("path", ["/app/exit", "/app/kill"])
def test_instance_crash_answers_500_with_the_default_page(srv, path):
    r = http_request(srv.port, "GET", path)
    assert r.status == 500, r
    assert r.header("Content-Type") == "text/html"
    assert r.body == page("default.html")
    assert http_request(srv.port, "GET", "/app/ok").body == b"ok"  # a new instance serves


@pytest.mark.parametrize("path", ["/app/raise", "/app/no_start_response"])
def test_app_failure_answers_500_with_the_default_page(srv, path):
    """An uncaught exception or a bad WSGI answer is the runtime's 500,
    which App Engine (and dev_appserver) replaced with the default page."""
    before = srv.log_rows(path)[0]
    r = http_request(srv.port, "GET", path)
    assert r.status == 500, r
    assert r.header("Content-Type") == "text/html"
    assert r.body == page("default.html")
    rows, out = srv.wait_new_log_rows(path, before, lambda rows: rows)
    assert [row["status"] for row in rows] == [500], out
    h = http_request(srv.port, "HEAD", path)
    assert h.status == 500 and h.body == b"", h
    assert h.header("Content-Length") == str(len(page("default.html")))


def test_cgi_script_failure_answers_500_with_the_default_page(serve, tmp_path):
    """The same for a CGI script (a `script: file.py` handler) that raises."""
    d = copy_app("error_pages", tmp_path / "app",
                 lambda text: text.replace("threadsafe: true", "threadsafe: false").replace(
                     "handlers:\n", "handlers:\n- url: /cgi\n  script: fail.py\n", 1))
    with open(os.path.join(d, "fail.py"), "w") as f:
        f.write('print("Content-Type: text/plain")\nprint()\nraise ValueError("failed")\n')
    s = serve(d)
    r = http_request(s.port, "GET", "/cgi")
    assert r.status == 500, r
    assert r.header("Content-Type") == "text/html"
    assert r.body == page("default.html")


def test_head_gets_the_page_length_without_body(srv):
    r = http_request(srv.port, "HEAD", "/app/exit")
    assert r.status == 500 and r.body == b"", r
    assert r.header("Content-Length") == str(len(page("default.html")))


def test_keep_alive_goes_on_after_an_error_page(srv):
    with Conn(srv.port) as c:
        c.request("GET", "/app/exit")
        assert c.read_response().body == page("default.html")
        c.request("GET", "/app/ok")
        assert c.read_response().body == b"ok"


@pytest.mark.parametrize("code", [500, 503, 404])
def test_status_from_the_app_keeps_its_body(srv, code):
    r = http_request(srv.port, "GET", "/app/status?code=%d" % code)
    assert r.status == code and r.body == b"the app's own error body", r


def test_unrouted_404_stays_built_in(srv):
    r = http_request(srv.port, "GET", "/no/handler")
    assert r.status == 404 and b"404 Not Found" in r.body, r


def test_503_over_capacity_uses_the_default_page(serve):
    s = serve(app_path("error_pages"), "--max_instances", "1", "--max_concurrent_requests", "1",
              "--max_pending_requests", "1")
    assert http_request(s.port, "GET", "/app/ok").body == b"ok"
    conns = [Conn(s.port) for _ in range(3)]
    try:
        for c in conns:  # one runs, one waits, at least one is refused
            c.request("GET", "/app/sleep?s=1")
        got = [c.read_response() for c in conns]
    finally:
        for c in conns:
            c.close()
    rejected = [r for r in got if r.status == 503]
    assert rejected and all(r.status in (200, 503) for r in got), got
    for r in rejected:
        assert r.body == page("default.html") and r.header("Content-Type") == "text/html"


def test_503_while_answers_are_held_uses_the_default_page(serve):
    """Past --max_held_response_bytes (clients not reading large answers)
    dynamic requests are refused for want of capacity: the default page."""
    s = serve(app_path("error_pages"), "--max_held_response_bytes", "4000000")
    assert http_request(s.port, "GET", "/app/ok").body == b"ok"
    holders = []
    try:
        # The kernel takes a few MB of each answer; the server holds the rest.
        for _ in range(3):
            h = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            h.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # it reads nothing
            h.connect(("127.0.0.1", s.port))
            h.sendall(b"GET /app/big?n=8000000 HTTP/1.1\r\nHost: x\r\n\r\n")
            holders.append(h)
        deadline = time.monotonic() + 20
        r = http_request(s.port, "GET", "/app/ok")
        while r.status != 503 and time.monotonic() < deadline:
            time.sleep(0.05)
            r = http_request(s.port, "GET", "/app/ok")
    finally:
        for h in holders:
            h.close()
    assert r.status == 503, r
    assert r.body == page("default.html") and r.header("Content-Type") == "text/html"


def test_backend_404_while_waiting_stays_built_in(serve, tmp_path):
    """A request waiting for a backend instance that stops gets 404, the
    same built-in page as one arriving after the stop: the app's default
    page is for server errors."""
    d = copy_app("error_pages", tmp_path / "app",  # one request at a time
                 lambda text: text.replace("threadsafe: true", "threadsafe: false"))
    with open(os.path.join(d, "backends.yaml"), "w") as f:
        f.write("backends:\n- name: worker\n  instances: 1\n  options: public\n")
    s = serve(d)
    host = "worker.localhost:%d" % s.port
    assert http_request(s.port, "GET", "/app/ok", headers=[("Host", host)]).body == b"ok"
    with Conn(s.port) as busy, Conn(s.port) as waiting:
        busy.request("GET", "/app/sleep?s=3", headers=[("Host", host)])
        time.sleep(0.5)  # it runs; the next one waits for the instance
        waiting.request("GET", "/app/ok", headers=[("Host", host)])
        time.sleep(0.5)
        assert run_gaelic("backends", d, "stop", "worker", "--storage_path",
                          s.storage_path).returncode == 0
        r = waiting.read_response()
        assert busy.read_response().body == b"ok"
    assert r.status == 404, r
    assert r.header("Content-Type") == "text/html; charset=utf-8"
    assert b"404 Not Found" in r.body, r
    after = http_request(s.port, "GET", "/app/ok", headers=[("Host", host)])
    assert after.status == 404 and after.body == r.body, after


def app_with(tmp_path, error_handlers, files=None):
    """A copy of the error_pages app whose error_handlers section (from
    line 12 of app.yaml on) is replaced, with files added."""
    d = copy_app("error_pages", tmp_path / "app",
                 lambda text: text[:text.index("error_handlers:")] + error_handlers)
    for rel, data in (files or {}).items():
        with open(os.path.join(d, rel), "w") as f:
            f.write(data)
    return d


def test_without_error_handlers_the_built_in_page_stays(serve, tmp_path):
    s = serve(app_with(tmp_path, ""))
    r = http_request(s.port, "GET", "/app/exit")
    assert r.status == 500 and b"500 Internal Server Error" in r.body, r
    assert r.header("Content-Type") == "text/html; charset=utf-8"


def test_only_a_timeout_page_leaves_other_errors_built_in(serve, tmp_path):
    s = serve(app_with(tmp_path,
                       "error_handlers:\n- error_code: timeout\n  file: errors/timeout.txt\n"))
    for path in ("/app/exit", "/app/raise"):
        r = http_request(s.port, "GET", path)
        assert r.status == 500 and b"500 Internal Server Error" in r.body, r
        assert r.header("Content-Type") == "text/html; charset=utf-8"


# ---------- refused at start ----------

def refused(appdir, line, reason):
    r = run_gaelic("serve", appdir, "--port", "0")
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert re.search(r"app\.yaml:%d: .*%s" % (line, reason), r.stderr), r.stderr
    assert "serving app" not in r.stdout


def test_page_over_10_kb_refused(tmp_path):
    d = app_with(tmp_path, "error_handlers:\n- file: ok.html\n- error_code: timeout\n"
                 "  file: big.html\n", {"ok.html": "x" * 10240, "big.html": "x" * 10241})
    refused(d, 15, "10241 bytes")  # big.html's file: line


def test_missing_page_refused(tmp_path):
    refused(app_with(tmp_path, "error_handlers:\n- file: nothere.html\n"), 13, "No such file")


def test_page_outside_the_app_folder_refused(tmp_path):
    outside = tmp_path / "outside.html"
    outside.write_text("secret")
    d = app_with(tmp_path, "error_handlers:\n- file: link.html\n")
    os.symlink(str(outside), os.path.join(d, "link.html"))
    refused(d, 13, "outside the app folder")


def test_parent_path_refused(tmp_path):
    refused(app_with(tmp_path, "error_handlers:\n- file: ../x.html\n"), 13, r"\.\.")


@pytest.mark.parametrize("file", ["errors/default.html", "./errors/default.html",
                                  "errors//default.html"])
def test_page_excluded_by_skip_files_refused(tmp_path, file):
    """A skipped file was never uploaded, however app.yaml spells its path."""
    d = app_with(tmp_path, "skip_files:\n- ^errors/default\\.html$\nerror_handlers:\n"
                 "- file: %s\n" % file)
    refused(d, 15, "excluded by skip_files")


def test_two_pages_for_one_code_refused(tmp_path):
    d = app_with(tmp_path, "error_handlers:\n- file: errors/dos.html\n- error_code: default\n"
                 "  file: errors/default.html\n")
    refused(d, 14, "already has a page")


def test_unknown_error_code_refused(tmp_path):
    d = app_with(tmp_path, "error_handlers:\n- error_code: teapot\n  file: errors/dos.html\n")
    refused(d, 13, "teapot")
