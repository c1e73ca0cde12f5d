"""google.appengine.ext.webapp: App Engine's webapp framework over real HTTP,
as WSGI handlers (main.application) and in CGI scripts whose cached main()
calls run_wsgi_app, with Debian's WebOb whether or not app.yaml lists it.
The module's tests run against apps/webapp twice: as it is (python27, whose
webapp is webapp2) and as `runtime: python` (webapp 1.x)."""
import json
import os
import re
import urllib.parse

import pytest

from harness import app_path, copy_app, http_request, write_app

DIST = "/usr/lib/python3/dist-packages"

if not os.path.isdir(os.path.join(DIST, "webob")):
    pytest.skip("python3-webob is not installed (scripts/deps.sh test)", allow_module_level=True)


@pytest.fixture(scope="module", params=["python27", "python"])
def srv(request, mserve, tmp_path_factory):
    path = app_path("webapp")
    if request.param == "python":
        path = copy_app("webapp", tmp_path_factory.mktemp("webapp25") / "webapp",
                        lambda text: text.replace("runtime: python27\n", "runtime: python\n")
                        .replace("threadsafe: false\n", ""))
    # One instance: the cached CGI main() is observable.
    s = mserve(path, "--max_instances", "1")
    s.runtime = request.param
    return s


def python27_only(srv):
    if srv.runtime != "python27":
        pytest.skip("webapp2's, python27's webapp")


def test_the_runtime_picks_the_implementation(srv):
    assert srv.get_json("/implementation") == {"runtime": srv.runtime,
                                               "webapp2": srv.runtime == "python27"}


def no_redirects(srv, path, **kw):
    return srv.get(path, allow_redirects=False, **kw)


def test_hello_as_a_wsgi_handler(srv):
    r = srv.get("/hello")
    assert r.status_code == 200, (r.text, srv.stderr_text()[-3000:])
    assert r.text == "Hello, webapp World!"
    assert r.headers["Content-Type"] == "text/plain"
    assert r.headers["X-Config-Middleware"] == "yes"  # appengine_config's


def test_writing_what_is_not_text_writes_its_str(srv):
    # As the python27 runtime's webapp (webapp2's) did: out.write(42).
    # A bytearray is its bytes (WebOb refused it: a TypeError, a 500).
    r = srv.get("/not-text")
    assert (r.status_code, r.text) == (200, "42 1.5 ba"), r.text


def test_hello_as_a_cgi_script_with_run_wsgi_app(srv):
    r = srv.get("/cgi/hello")
    assert r.status_code == 200, (r.text, srv.stderr_text()[-3000:])
    assert r.text == "Hello, webapp World!"
    assert r.headers["Content-Type"] == "text/plain"
    # run_wsgi_app applies appengine_config's webapp_add_wsgi_middleware,
    assert r.headers["X-Config-Middleware"] == "yes"
    # run_bare_wsgi_app does not.
    r = srv.get("/bare/")
    assert (r.status_code, r.text) == (200, "bare"), (r.text, srv.stderr_text()[-3000:])
    assert "X-Config-Middleware" not in r.headers


def test_cgi_main_is_cached_across_requests(serve):
    s = serve(app_path("webapp"), "--max_instances", "1")
    got = [s.get("/cgi/count").text.split() for _ in range(3)]
    assert [g[0] for g in got] == ["1", "2", "3"], got  # a module global
    assert len({g[1] for g in got}) == 1, got


def test_default_content_type_and_environment(srv):
    r = srv.get("/environ?q=1")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "QUERY_STRING = q=1<br />\n" in r.text
    assert "APPLICATION_ID = webapp<br />\n" in r.text


def test_groups_are_passed_positionally(srv):
    assert srv.get_json("/groups/ada/42") == ["ada", "42"]
    # Matched against the URL-quoted path, passed unquoted.
    assert srv.get_json("/quoted/a%20b%2Fc%C3%A9") == ["a b/c\u00e9"]
    assert srv.get_json("/optional") == [None]
    assert srv.get_json("/optional/x") == ["/x"]


def test_path_not_utf8_is_routed_not_a_500(srv):
    # Python 2's webapp routed the path's bytes; WebOb on Python 3 decodes
    # it as UTF-8, and a %FF made request.path raise: every app answered 500.
    assert srv.get_json("/quoted/a%FFb") == ["a\ufffdb"]
    assert srv.get("/no/%FF").status_code == 404


def test_routes_are_anchored_and_the_first_match_wins(srv):
    assert srv.get("/first").text == "Hello, webapp World!"
    assert srv.get("/firstly").status_code == 403  # the later, wider route
    assert srv.get("/groups/ada/42/more").status_code == 404  # anchored at the end
    assert srv.get("/x/hello").status_code == 404  # and at the start


def test_no_route_is_404(srv):
    r = srv.get("/no/such/page")
    assert r.status_code == 404
    if srv.runtime == "python":
        assert r.text == ""
    else:  # webapp2 answers with WebOb's page
        assert "404 Not Found" in r.text, r.text


def test_missing_method_is_405_with_allow(srv):
    r = srv.get("/post-only")
    assert r.status_code == 405
    assert r.headers["Allow"] == "DELETE, POST"
    r = srv.post("/post-only")
    assert (r.status_code, r.text) == (200, "posted")
    r = http_request(srv.port, "PUT", "/hello", body=b"")
    assert r.status == 405 and r.header("Allow") == "GET", r


def test_method_outside_the_allowed_ones_is_501(srv):
    r = http_request(srv.port, "PATCH", "/hello", body=b"")
    assert r.status == 501, r


def test_post_form_fields(srv):
    got = srv.post("/args?n=99", data=[("name", "gr\u00e1inne"), ("tag", "a"), ("tag", "b")]).json()
    assert got["name"] == "gr\u00e1inne"
    assert got["missing"] == "" and got["fallback"] == "fallback"
    assert got["tags"] == ["a", "b"] and got["multiple"] == ["a", "b"]
    assert got["first_tag"] == "a"
    assert got["arguments"] == ["n", "name", "tag"]
    assert got["range"] == 10  # clamped to max_value
    assert got["uri"] == srv.url + "args?n=99"
    # webapp's Request.query: the part of the URL after the '?'.
    assert got["query"] == "n=99"


def test_query_arguments_and_get_range(srv):
    got = srv.get_json("/args?tag=x&tag=y&tag=z&n=-3")
    assert got["tags"] == ["x", "y", "z"]
    assert got["range"] == 0
    assert srv.get_json("/args?n=seven")["range"] == 5  # not an int: the default
    assert srv.get_json("/args?n=7")["range"] == 7
    got = srv.get_json("/args")
    assert got["tags"] == [] and got["multiple"] == [] and got["range"] == 5
    # With allow_multiple, an argument without values is default_value
    # when one is given, as webapp's and webapp2's get() return it.
    assert got["multiple_fallback"] == ["d"]


def test_query_not_utf8_reads_as_the_form_body_does(srv):
    # WebOb decoded the query strictly (a 500 for ?name=%FF) and a form
    # body with replacement: both now give U+FFFD.
    # Sent as it is: requests would re-escape the % of %ZZ.
    r = http_request(srv.port, "GET", "/args?name=a%FFb&tag=%E6%97%A5;tag=%ZZ&n")
    assert r.status == 200, r
    got = json.loads(r.body)
    assert got["name"] == "a\ufffdb"
    assert got["tags"] == ["\u65e5", "%ZZ"]
    assert got["arguments"] == ["name", "tag", "n"]
    assert srv.post("/args", data="name=a%FFb").json()["name"] == "a\ufffdb"


@pytest.mark.parametrize("charset,body,name", [
    # Java's HTTP clients send forms so, and the python27 runtime's WebOb
    # read them; Debian's raised DeprecationWarning: a 500.
    ("ISO-8859-1", "name=caf%E9", "caf\u00e9"),
    ("no-such-charset", "name=caf%C3%A9", "caf\u00e9"),  # read as UTF-8
])
def test_form_in_another_charset_than_utf8(srv, charset, body, name):
    r = srv.post("/args", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=" + charset})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == name


def test_multipart_upload_gives_the_file_content(srv):
    r = srv.post("/upload", files={"file": ("f.bin", b"file \xff content")})
    assert r.status_code == 200, (r.text, srv.stderr_text()[-3000:])
    assert r.content == b"file \xff content"
    assert r.headers["X-Value-Type"] == "bytes"


def test_redirects(srv):
    r = no_redirects(srv, "/redirect/temporary")
    assert r.status_code == 302
    assert r.headers["Location"] == srv.url + "hello"
    assert r.text == ""
    r = no_redirects(srv, "/redirect/permanent")
    assert r.status_code == 301
    assert r.headers["Location"] == srv.url + "hello"
    r = no_redirects(srv, "/redirect/relative")
    assert r.status_code == 302
    assert r.headers["Location"] == srv.url + "redirect/elsewhere?x=1"
    r = no_redirects(srv, "/cgi/redirect")
    assert r.status_code == 302
    assert r.headers["Location"] == srv.url + "cgi/hello"


def test_webapp1_redirect_handler_made_by_new_factory(srv):
    if srv.runtime != "python":
        pytest.skip("webapp 1.x's, `runtime: python`'s webapp")
    r = no_redirects(srv, "/moved")
    assert (r.status_code, r.headers.get("Location")) == (301, srv.url + "hello"), r.text
    r = no_redirects(srv, "/moved-for-now")
    assert (r.status_code, r.headers.get("Location")) == (302, srv.url + "hello"), r.text


def test_redirect_to_a_url_that_is_not_ascii(srv):
    # Escaped as UTF-8 (the host IDNA-encoded): such a str was a 500 (not
    # latin-1) or went out in latin-1 ('\u00e9' as one byte).
    r = no_redirects(srv, "/redirect/unicode")
    assert r.status_code == 302, r.text
    assert r.headers["Location"] == srv.url + "caf%C3%A9/%E6%97%A5?q=%E6%97%A5#%C3%A9"
    r = no_redirects(srv, "/redirect/unicode-host")
    assert r.headers["Location"] == "http://xn--bcher-kva.example:8080/%C3%BC"


def test_error_sets_the_status_and_clears_the_body(srv):
    r = srv.get("/forbidden")
    assert (r.status_code, r.text) == (403, "")
    assert r.headers["X-Has-Error"] == "True"


def test_exception_is_logged_and_answered_500(srv):
    r = srv.get("/fails")
    assert r.status_code == 500
    assert "partial output" not in r.text
    assert "webapp-handler-failure-marker" not in r.text  # not in debug mode
    out = srv.wait_logs("webapp-handler-failure-marker")
    assert "Traceback (most recent call last):" in out, out[-3000:]
    assert re.search(r"ValueError: webapp-handler-failure-marker", out), out[-3000:]
    assert 'in get\n' in out or "in get" in out


def test_debug_mode_shows_the_traceback(srv):
    r = srv.get("/debug/fails")
    assert r.status_code == 500
    assert r.text.startswith("<pre>Traceback (most recent call last):"), r.text
    assert "ValueError: webapp-handler-failure-marker" in r.text
    assert "partial output" not in r.text


def test_cgi_exception_with_debug(srv):
    r = srv.get("/cgi/fails")
    assert r.status_code == 500
    assert "RuntimeError: webapp-cgi-failure-marker" in r.text
    out = srv.wait_logs("webapp-cgi-failure-marker")
    assert "Traceback (most recent call last):" in out, out[-3000:]


def test_cgi_post_form(srv):
    r = srv.post("/cgi/form", data=[("name", "n\u00e9"), ("tag", "1"), ("tag", "2")])
    assert (r.status_code, r.text) == (200, "n\u00e9|1,2"), (r.text, srv.stderr_text()[-3000:])


def test_head(srv):
    r = http_request(srv.port, "HEAD", "/head")
    assert r.status == 200, r
    assert r.header("X-Head") == "yes"
    assert r.body == b""
    r = http_request(srv.port, "HEAD", "/hello")
    assert r.status == 405 and r.header("Allow") == "GET"


def test_custom_status_message_and_headers(srv):
    r = http_request(srv.port, "GET", "/custom")
    assert (r.status, r.reason) == (299, "Quite Custom"), r
    assert r.header("X-Webapp-Header") == "set by the handler"
    assert r.header_all("Set-Cookie") == ["a=1; Path=/", "b=2"]
    assert r.header("Content-Disposition") == 'attachment; file-name="say \\"hi\\".txt"; inline'
    assert r.header("X-Cookies") == "2"
    assert r.body == b"299 Quite Custom|Quite Custom|299"
    r = http_request(srv.port, "GET", "/standard")
    assert (r.status, r.reason, r.body) == (202, "Accepted", b"202 Accepted"), r
    # Response.http_status_message(code), a static method of webapp's and
    # webapp2's Response.
    assert r.header("X-Reason-404") == "Not Found", r
    assert r.header("X-Has-Error") == "False", r
    # status_message set: the phrase changes, the code stays.
    r = http_request(srv.port, "GET", "/reworded")
    assert (r.status, r.reason, r.body) == (404, "Gone Fishing", b"404 Gone Fishing"), r


def test_unicode_is_written_as_utf8(srv):
    r = srv.get("/text")
    assert r.status_code == 200
    assert r.content == "h\u00e9llo \u2603 bytes printed\n".encode("utf-8")
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"


def test_body_set_to_a_str_is_encoded_in_the_responses_charset(srv):
    """`self.response.body = 'text'`, common in python27 apps, where a str
    was bytes: taken as write() takes a str, not WebOb's TypeError."""
    r = srv.get("/body-set")
    assert (r.status_code, r.content) == (200, "caf\u00e9".encode("latin-1")), r.text


def test_clear_empties_the_body(srv):
    assert srv.get("/cleared").text == "kept"


def test_pep3333_under_wsgiref_validate(srv):
    r = srv.get("/validated/abc")
    assert r.status_code == 200, (r.text, srv.stderr_text()[-3000:])
    assert r.json() == ["abc"]
    r = http_request(srv.port, "HEAD", "/validated/head")
    assert r.status == 200, (r, srv.stderr_text()[-3000:])
    r = srv.get("/validated/-")
    assert r.status_code == 404, (r.text, srv.stderr_text()[-3000:])


def test_an_app_using_webapp_can_import_webob(srv):
    r = srv.get("/webob")
    assert r.text == DIST + "/webob/__init__.py", r.text


needs_django = pytest.mark.skipif(not os.path.isdir(os.path.join(DIST, "django")),
                                  reason="python3-django is not installed (scripts/deps.sh test)")


@needs_django
@pytest.mark.parametrize("debug", ["0", "1"])
def test_template_render_with_extends_include_and_a_custom_filter(srv, debug):
    """webapp.template renders App Engine's Django templates without
    `libraries: django` in app.yaml, as the runtime carried Django for it."""
    for kind, says in (("greeting", "kind is greeting"), ("other", "other kind")):
        r = srv.get("/template?kind=%s&debug=%s" % (kind, debug))
        assert r.status_code == 200, (r.text, srv.stderr_text()[-3000:])
        text = r.text
        assert "<title>A TITLE</title>" in text, text
        assert "<p>item 3</p>" in text and says in text and "1,2,3" in text, text
        # Autoescaped, unless marked safe.
        assert "&lt;b&gt;&amp;&lt;/b&gt; <b>&</b>" in text, text
        assert "9 March 2011" in text and "HEY!" in text, text


@needs_django
def test_template_and_context_classes(srv):
    r = srv.get("/template-string")
    assert (r.status_code, r.text) == (200, "&lt;x&gt; and none"), r.text


DJANGO_SETTINGS_APP_YAML = """\
runtime: python27
api_version: 1
threadsafe: true
libraries:
- name: django
  version: "1.4"
env_variables:
  DJANGO_SETTINGS_MODULE: 'settings'
handlers:
- url: /.*
  script: main.app
"""

DJANGO_SETTINGS_MAIN = """\
import os
import webapp2
from google.appengine.ext.webapp import template
from django.conf import settings

class Page(webapp2.RequestHandler):
    def get(self):
        page = template.render(os.path.join(os.path.dirname(__file__), 'page.html'),
                               {'x': '<1>'})
        string = template.Template('{{ y }}').render(template.Context({'y': '<2>'}))
        self.response.write('|'.join([page.strip(), string,
                                      getattr(settings, 'SITE_TITLE', 'no SITE_TITLE'),
                                      settings.TIME_ZONE]))

app = webapp2.WSGIApplication([('/', Page)])
"""


@needs_django
def test_template_keeps_the_apps_own_django_settings(serve, tmp_path):
    # An app naming its Django settings in DJANGO_SETTINGS_MODULE got them
    # beside webapp.template on App Engine; the runtime's configure() had
    # replaced them. A settings module of Django 1.x's days has
    # TEMPLATE_DIRS and no TEMPLATES: Template('...') still compiles.
    d = write_app(tmp_path / "app", DJANGO_SETTINGS_APP_YAML, {
        "main.py": DJANGO_SETTINGS_MAIN,
        "settings.py": ("SITE_TITLE = 'My Site'\nTIME_ZONE = 'Europe/Paris'\n"
                        "TEMPLATE_DIRS = ('templates',)\nINSTALLED_APPS = ()\n"),
        "page.html": "page {{ x }}\n",
    })
    s = serve(d)
    r = s.get("/")
    assert (r.status_code, r.text) == (200, "page &lt;1&gt;|&lt;2&gt;|My Site|Europe/Paris"), (
        r.text, s.stderr_text()[-3000:])


@needs_django
def test_template_leaves_other_libraries_refused(srv):
    srv.get("/template")
    r = srv.get("/template-unlisted")
    assert r.status_code == 200 and r.text.startswith("refused: "), r.text
    assert "libraries:" in r.text, r.text


def test_login_required_redirects_signed_out_users_to_sign_in(srv):
    r = no_redirects(srv, "/private/page?x=1")
    assert r.status_code == 302, r.text
    login = r.headers["Location"]
    assert "/_ah/login?continue=" in login, login
    assert urllib.parse.unquote(login.split("continue=", 1)[1]).endswith("/private/page?x=1")
    # Signed in on the development sign-in page, the handler runs.
    r = srv.post("/_ah/login", data={"email": "alice@example.com", "action": "Login",
                                     "continue": "/"}, allow_redirects=False)
    assert r.status_code == 302, r.text
    cookies = {"dev_appserver_login": r.cookies["dev_appserver_login"].strip('"')}
    r = no_redirects(srv, "/private/page", cookies=cookies)
    assert (r.status_code, r.text) == (200, "page for alice@example.com"), r.text
    # Only for GET: on a POST it raises webapp.Error (500, logged).
    r = srv.post("/private/page", cookies=cookies, allow_redirects=False)
    assert r.status_code == 500, r.text
    assert srv.wait_stderr("login_required can only be used for GET requests")


def test_webapp1_handler_behind_a_webapp2_route(srv):
    # On `runtime: python` a webapp 1.x handler, called as webapp 1.x does.
    r = srv.get("/mixed/w")
    assert (r.status_code, r.json()) == (200, ["w"]), (r.text, srv.stderr_text()[-3000:])


def test_python27_webapp_is_webapp2(srv):
    """As in App Engine's SDK: on python27 `from google.appengine.ext import
    webapp` is `import webapp2 as webapp`."""
    python27_only(srv)
    r = srv.get("/27/identity")
    assert r.status_code == 200, (r.text, srv.stderr_text()[-3000:])
    assert r.json() == {"same_classes": [True, True, True], "self_app": True, "config": "hi"}


def test_python27_webapp_handler_aborts(srv):
    python27_only(srv)
    r = srv.get("/27/abort/403")
    assert r.status_code == 403 and "403 Forbidden" in r.text, r.text  # WebOb's page
    # error_handlers[404] answers an abort(404) and a path no route takes.
    r = srv.get("/27/abort/404")
    assert (r.status_code, r.text) == (404, "custom 404 for /27/abort/404"), r.text
    r = srv.get("/27/nothing")
    assert (r.status_code, r.text) == (404, "custom 404 for /27/nothing"), r.text


@pytest.mark.parametrize("how,code", [("abort", 302), ("303", 303), ("307", 307)])
def test_python27_webapp_redirect_abort_and_code(srv, how, code):
    python27_only(srv)
    r = no_redirects(srv, "/27/redirect/" + how)
    assert r.status_code == code, r.text
    assert r.headers["Location"] == srv.url + "27/target"
    assert r.cookies["seen"] == "1"  # what the handler set goes out with it
    assert "not reached" not in r.text


def test_python27_webapp_route_uri_for_and_numeric_status(srv):
    python27_only(srv)
    r = srv.get("/27/item/12")
    assert (r.status_code, r.text) == (201, "item 12 at /27/item/12"), r.text


def test_python27_login_required_on_a_route_with_keyword_arguments(srv):
    # A webapp2 Route passes its variables by name: login_required takes them.
    python27_only(srv)
    r = no_redirects(srv, "/27/private/page")
    assert r.status_code == 302, (r.text, srv.stderr_text()[-3000:])
    assert "/_ah/login?continue=" in r.headers["Location"]
    r = srv.post("/_ah/login", data={"email": "bob@example.com", "action": "Login",
                                     "continue": "/"}, allow_redirects=False)
    cookies = {"dev_appserver_login": r.cookies["dev_appserver_login"].strip('"')}
    r = no_redirects(srv, "/27/private/page", cookies=cookies)
    assert (r.status_code, r.text) == (200, "page"), r.text


def test_python3_webapp_is_webapp2(serve, tmp_path):
    """A python3 app (no APPENGINE_RUNTIME) gets python27's webapp, which
    it was ported from, not the 2.5 runtime's."""
    main = ("import webapp2\n"
            "from google.appengine.ext import webapp\n"
            "class Page(webapp.RequestHandler):\n"
            "    def get(self, name):\n"
            "        self.response.write('%s %s' % (name, webapp.RequestHandler is\n"
            "                                       webapp2.RequestHandler))\n"
            "app = webapp.WSGIApplication([webapp.Route('/<name>', Page)])\n")
    # WebOb is no default library of python3 apps: listed.
    d = write_app(tmp_path / "py3", "runtime: python3\nlibraries:\n- name: webob\n"
                  "  version: latest\nhandlers:\n- url: /.*\n  script: main.app\n",
                  {"main.py": main})
    s = serve(d)
    r = s.get("/ada")
    assert (r.status_code, r.text) == (200, "ada True"), (r.text, s.stderr_text()[-3000:])
