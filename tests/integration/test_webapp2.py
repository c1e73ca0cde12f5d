"""webapp2, the runtime's own (python/webapp2.py), over real HTTP: importable
with no libraries: entry, routing (regular expressions, Route templates,
methods, handlers named by string, functions, webapp handlers), uri_for,
redirects, abort, error handlers, debug pages, app.run() in a CGI script
and PEP 3333 through wsgiref.validate."""
import os

import pytest
import requests

from harness import app_path, write_app

if not os.path.isdir("/usr/lib/python3/dist-packages/webob"):
    pytest.skip("python3-webob is not installed (scripts/deps.sh)", allow_module_level=True)


@pytest.fixture(scope="module")
def srv(mserve):
    # One instance: registry counts and the cached CGI main() are observable.
    return mserve(app_path("webapp2"), "--max_instances", "1")


def get(srv, path, **kw):
    return srv.get(path, allow_redirects=False, **kw)


def test_imports_the_runtimes_webapp2_unlisted(srv):
    r = get(srv, "/")
    assert r.status_code == 200, (r.text, srv.stderr_text()[-3000:])
    assert r.text == "Hello, webapp2 World! False"
    assert r.headers["Content-Type"] == "text/plain"


def test_route_template_defaults_and_uri_for(srv):
    r = get(srv, "/post/42")
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["post_id"] == "42" and got["view"] == "short"
    assert got["full"] == "http://127.0.0.1:%d/post/7" % srv.port
    assert got["same_request"] and got["same_app"]
    assert get(srv, "/post/x").status_code == 404


def test_uri_for_puts_unknown_keywords_in_the_query(srv):
    got = get(srv, "/post/42").json()
    # view is a default, not a variable of the template: it goes to the
    # query, sorted by name as webapp2 built it.
    assert got["self"] == "/post/42?q=a+b&view=full#c/d", got
    assert got["none_is_missing"]
    # A value starting with '/' does not make '//evil.example/x', another
    # host's URL to a browser.
    assert got["same_host"] == "/evil.example/x", got
    # url_for: webapp2's older name, kept as an alias of uri_for.
    assert got["url_for"] == "/post/1", got


def test_uri_for_quotes_the_templates_text_too(srv):
    # The template is the unquoted path; built as it was written, it gave
    # '/caf\u00e9 menu/...', no URL a client can send.
    got = get(srv, "/post/42").json()
    assert got["literal"] == "/caf%C3%A9%20menu/t%C3%A9", got
    r = get(srv, got["literal"])
    assert r.status_code == 200, r.text
    assert r.json() == {"args": [], "kwargs": {"item": "t\u00e9"}}


def test_redirect_to_a_named_route(srv):
    r = srv.post("/post/41", allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"] == "http://127.0.0.1:%d/post/42" % srv.port


@pytest.mark.parametrize("path,args,kwargs", [
    ("/pos/abc/12", ["abc", "12"], {}),
    # With named variables a handler class gets no positional arguments.
    ("/mixed/x%20y/3", [], {"a": "x y"}),
    ("/regex/w/9", ["w", "9"], {}),
])
def test_positional_and_keyword_arguments(srv, path, args, kwargs):
    r = get(srv, path)
    assert r.status_code == 200, r.text
    assert r.json() == {"args": args, "kwargs": kwargs}


def test_path_not_utf8_is_routed_not_a_500(srv):
    # WebOb decodes the path strictly as UTF-8: %FF made routing raise.
    r = get(srv, "/pos/%FF/12")
    assert r.status_code == 404, r.text  # \w does not match U+FFFD
    r = get(srv, "/mixed/x%FF/3")
    assert r.status_code == 200, r.text
    assert r.json() == {"args": [], "kwargs": {"a": "x\ufffd"}}


def test_unnamed_variables_not_passed_beside_named_ones(srv):
    r = get(srv, "/blog/2024/hello")
    assert (r.status_code, r.text) == (200, "slug hello"), r.text


def test_function_gets_unnamed_variables_only_without_named_ones(srv):
    # webapp2 calls a function handler as it calls a class's method: it was
    # function_slug(request, '2024', slug='hello'), a TypeError and a 500.
    r = get(srv, "/fblog/2024/hello")
    assert (r.status_code, r.text) == (200, "function slug hello"), r.text


def test_route_methods_405_with_allow(srv):
    r = get(srv, "/only-post")
    assert r.status_code == 405
    assert r.headers["Allow"] == "POST"
    r = srv.post("/only-post", data={"name": "ann"})
    assert (r.status_code, r.text) == (200, "posted ann")


def test_handler_without_the_method_405(srv):
    r = requests.delete(srv.url.rstrip("/") + "/", timeout=30)
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET"


def test_method_outside_allowed_methods_501_unless_the_app_adds_it(srv):
    r = requests.patch(srv.url.rstrip("/") + "/", timeout=30)
    # The 501 goes through error_handlers as other HTTP errors do.
    assert (r.status_code, r.text) == (501, "custom 501 for PATCH")
    r = requests.patch(srv.url.rstrip("/") + "/debug/patch", timeout=30)
    assert (r.status_code, r.text) == (200, "patched")


def test_an_apps_own_route_classes(srv):
    # A route standing for others (get_routes): matched and built.
    r = get(srv, "/grouped/hi")
    assert (r.status_code, r.text) == (200, "function hi {'word': 'hi'}")
    assert get(srv, "/post/1").json()["grouped"] == "/grouped/w"
    # One whose get_build_routes yields (name, route) pairs, as webapp2's
    # routes did (taking them for routes made the app fail to import).
    r = get(srv, "/paired/hi")
    assert (r.status_code, r.text) == (200, "function hi {'word': 'hi'}")
    assert get(srv, "/post/1").json()["paired"] == "/paired/p"
    # A route raising HTTPMethodNotAllowed lets a later one take the request
    # (NotPostRoute comes before /only-post's own route).
    r = srv.post("/only-post", data={"name": "bo"})
    assert (r.status_code, r.text) == (200, "posted bo")


def test_handlers_named_by_string_import_once(srv):
    for _ in range(2):
        r = get(srv, "/lazy/hi")
        assert (r.status_code, r.text) == (200, "lazy hi 1"), r.text
    r = get(srv, "/custom/there")
    assert (r.status_code, r.text) == (200, "custom there")


def test_import_string_error_says_what_and_why(srv):
    r = get(srv, "/import-fails")
    assert (r.status_code, r.text) == (200, "no_such_module_here.Handler ModuleNotFoundError")


def test_function_handler_returns_the_response(srv):
    r = get(srv, "/function/fw")
    assert (r.status_code, r.text) == (200, "function fw {'word': 'fw'}")


def test_handler_class_that_is_no_request_handler(srv):
    # Called as a function, its instance was the "response": a 500.
    r = get(srv, "/bare/hi")
    assert (r.status_code, r.text) == (200, "bare hi"), r.text


def test_webapp_handler_behind_a_webapp2_route(srv):
    r = get(srv, "/old/w")
    assert (r.status_code, r.text) == (200, "old w")


@pytest.mark.parametrize("code", [401, 403, 410, 503])
def test_abort(srv, code):
    assert get(srv, "/abort/%d" % code).status_code == code


@pytest.mark.parametrize("how,code", [("temporary", 302), ("permanent", 301), ("abort", 302)])
def test_redirect(srv, how, code):
    r = get(srv, "/redirect/" + how)
    assert r.status_code == code
    assert r.headers["Location"] == "http://127.0.0.1:%d/target" % srv.port
    # What the handler wrote before redirecting is dropped.
    assert "not sent" not in r.text
    # The headers it set are kept, abort or not, as webapp2 kept them.
    assert r.cookies.get("seen") == how


def test_redirect_to_a_url_that_is_not_ascii(srv):
    # UTF-8 escaped: not latin-1, it was a 500.
    r = get(srv, "/redirect/unicode")
    assert r.status_code == 302, r.text
    assert r.headers["Location"] == "http://127.0.0.1:%d/t%%C3%%A9/%%E6%%97%%A5" % srv.port


def test_redirect_handler(srv):
    r = get(srv, "/moved")
    assert r.status_code == 301
    assert r.headers["Location"].endswith("/target")
    # _permanent=False makes it a 302, as webapp2's RedirectHandler did.
    r = get(srv, "/moved-for-now")
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/target")


def test_error_handlers(srv):
    r = get(srv, "/nothing/here")
    assert (r.status_code, r.text) == (404, "custom 404 for /nothing/here")
    r = get(srv, "/fails")
    assert (r.status_code, r.text) == (500, "custom 500: webapp2-failure-marker")


def test_handler_handle_exception(srv):
    r = get(srv, "/handles")
    assert (r.status_code, r.text) == (409, "handled: handled here")


def test_debug_page_shows_the_traceback_and_the_log_has_it(srv):
    r = get(srv, "/debug/fails")
    assert r.status_code == 500
    assert "RuntimeError: webapp2-failure-marker" in r.text
    assert "Traceback" in r.text
    assert srv.wait_stderr("webapp2-failure-marker")


def test_handler_returning_no_response_is_the_apps_500(srv):
    r = get(srv, "/debug/returns-text")
    assert r.status_code == 500
    assert "Traceback" in r.text, r.text


def test_active_app_and_request(srv):
    r = get(srv, "/globals")
    assert r.status_code == 200, r.text
    assert r.json() == {"when_created": True, "app": True, "request": True}


def test_registry_and_config(srv):
    first = int(get(srv, "/registry").text.split()[0])
    r = get(srv, "/registry")
    assert r.text == "%d cfg ['mine']" % (first + 1)


def test_get_response_gives_webapp2s_response(srv):
    # WebOb's Request.get_response made a webob.Response, without
    # has_error() or status_message.
    r = get(srv, "/get-response")
    assert (r.status_code, r.text) == (200, "Response True Not Found"), r.text


def test_run_from_a_cgi_main(srv):
    got = [get(srv, "/cgi/count").text for _ in range(2)]
    n = int(got[0].split()[1])
    assert got == ["cgi %d" % n, "cgi %d" % (n + 1)]


def test_pep3333_through_wsgiref_validate(srv):
    r = get(srv, "/validated/x")
    assert r.status_code == 200, (r.text, srv.stderr_text()[-3000:])
    assert r.json() == {"args": [], "kwargs": {"x": "x"}}


def serve_main(serve, tmp_path, main):
    """A threadsafe python27 app whose main.py (main.app) is main, served."""
    return serve(write_app(tmp_path / "app",
                           "runtime: python27\napi_version: 1\nthreadsafe: true\n"
                           "handlers:\n- url: /.*\n  script: main.app\n",
                           {"main.py": main}))


ROUTER_HOOKS_MAIN = """\
import webapp2

class Page(webapp2.RequestHandler):
    def get(self, name):
        return 'page %s' % name

def status(request):
    return 'made', 201

def custom_dispatcher(router, request, response):
    # webapp2's documented recipe: handlers return strings or
    # (body, status) tuples, which the dispatcher makes responses of.
    rv = router.default_dispatcher(request, response)
    if isinstance(rv, str):
        rv = webapp2.Response(rv)
    elif isinstance(rv, tuple):
        rv = webapp2.Response(*rv)
    return rv

def lower_matcher(router, request):
    request.path_info = request.path_info.lower()
    return router.default_matcher(request)

def versioned_builder(router, request, name, args, kwargs):
    return router.default_builder(request, name, args, kwargs) + '?v=2'

class Link(webapp2.RequestHandler):
    def get(self):
        self.response.write(self.uri_for('page', name='x'))

app = webapp2.WSGIApplication([
    webapp2.Route('/page/<name>', Page, name='page'),
    webapp2.Route('/status', status),
    webapp2.Route('/link', Link),
])
app.router.set_dispatcher(custom_dispatcher)
app.router.set_matcher(lower_matcher)
app.router.set_builder(versioned_builder)
"""


def test_router_set_dispatcher_matcher_and_builder(serve, tmp_path):
    # Apps replaced how webapp2's router dispatches, matches and builds
    # (app.router.set_dispatcher(func) and its kin); without them the app
    # failed as it was imported.
    s = serve_main(serve, tmp_path, ROUTER_HOOKS_MAIN)
    r = get(s, "/Page/Ann")
    assert (r.status_code, r.text) == (200, "page ann"), (r.text, s.stderr_text()[-3000:])
    r = get(s, "/status")
    assert (r.status_code, r.text) == (201, "made"), r.text
    r = get(s, "/link")
    assert (r.status_code, r.text) == (200, "/page/x?v=2"), r.text
    assert get(s, "/nowhere").status_code == 404


EXC_MAIN = """\
import webapp2

class Missing(webapp2.RequestHandler):
    def get(self):
        raise webapp2.exc.HTTPBadRequest('missing required fields')

class Known(webapp2.RequestHandler):
    def get(self):
        try:
            self.app.router.match(webapp2.Request.blank(self.request.get('path')))
            self.response.write('routed')
        except webapp2.exc.HTTPNotFound:
            self.response.write('no route')

app = webapp2.WSGIApplication([('/missing', Missing), ('/known', Known)])
"""


def test_webapp2_exc_is_webobs(serve, tmp_path):
    # webapp2 imported WebOb's exc module as its own: apps raised
    # webapp2.exc.HTTPBadRequest and caught webapp2.exc.HTTPNotFound.
    s = serve_main(serve, tmp_path, EXC_MAIN)
    r = get(s, "/missing")
    assert r.status_code == 400 and "missing required fields" in r.text, (
        r.status_code, r.text, s.stderr_text()[-3000:])
    assert get(s, "/known", params={"path": "/missing"}).text == "routed"
    assert get(s, "/known", params={"path": "/nope"}).text == "no route"
