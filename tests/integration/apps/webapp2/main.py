"""webapp2 handlers as WSGI applications (main.app, main.debug_app, and
main.validated under wsgiref.validate)."""
import json
import os
import warnings
from wsgiref.validate import WSGIWarning, validator

import webapp2
import webob.exc
from google.appengine.ext import webapp


class Home(webapp2.RequestHandler):
    def get(self):
        self.response.headers["Content-Type"] = "text/plain"
        self.response.write("Hello, webapp2 World! %s" % webapp2.__file__.startswith(
            os.path.dirname(os.path.abspath(__file__))))


def _raises(exception, func, *args, **kwargs):
    try:
        func(*args, **kwargs)
    except exception:
        return True
    return False


class Post(webapp2.RequestHandler):
    def get(self, post_id, view):
        self.response.headers["Content-Type"] = "application/json"
        self.response.write(json.dumps({
            "post_id": post_id, "view": view,
            "self": self.uri_for("post", post_id=post_id, view="full", q="a b", _fragment="c/d"),
            "grouped": self.uri_for("grouped", word="w"),
            "paired": self.uri_for("paired", word="p"),
            "none_is_missing": _raises(KeyError, self.uri_for, "post", post_id=None),
            "same_host": self.uri_for("anywhere", rest="/evil.example/x"),
            "literal": self.uri_for("cafe", item="t\u00e9"),
            "url_for": self.url_for("post", post_id=1),
            "full": webapp2.uri_for("post", post_id=7, _full=True),
            "same_request": webapp2.get_request() is self.request,
            "same_app": webapp2.get_app() is self.app,
        }))

    def post(self, post_id, view):
        return self.redirect_to("post", post_id=int(post_id) + 1)


class Positional(webapp2.RequestHandler):
    def get(self, *args, **kwargs):
        self.response.headers["Content-Type"] = "application/json"
        self.response.write(json.dumps({"args": args, "kwargs": kwargs}))


class Slug(webapp2.RequestHandler):
    """Behind a route with an unnamed and a named variable: gets the named
    one alone, as webapp2 passed it."""

    def get(self, slug):
        self.response.write("slug %s" % slug)


class PostOnly(webapp2.RequestHandler):
    def post(self):
        self.response.write("posted %s" % self.request.get("name"))


class Aborts(webapp2.RequestHandler):
    def get(self, code):
        self.abort(int(code))


class Redirects(webapp2.RequestHandler):
    def get(self, how):
        self.response.write("not sent")
        self.response.set_cookie("seen", how)
        if how == "unicode":
            return self.redirect("/t\u00e9/\u65e5", abort=True)
        if how == "abort":
            self.redirect("/target", abort=True)
            raise AssertionError("not reached")
        self.redirect("/target", permanent=how == "permanent")


class Fails(webapp2.RequestHandler):
    def get(self):
        raise RuntimeError("webapp2-failure-marker")


class Handles(webapp2.RequestHandler):
    def get(self):
        raise ValueError("handled here")

    def handle_exception(self, exception, debug):
        self.response.status = 409
        self.response.write("handled: %s" % exception)


class Registry(webapp2.RequestHandler):
    def get(self):
        self.app.registry["count"] = self.app.registry.get("count", 0) + 1
        self.response.write(self.app.registry["count"])  # not a str: written as one
        self.response.write(" ")
        self.request.registry["mine"] = 1
        self.response.write("%s %s" % (self.app.config.get("name"),
                                       sorted(self.request.registry)))


class Globals(webapp2.RequestHandler):
    """The active app and request as webapp2 documented them."""

    def get(self):
        cls = webapp2.WSGIApplication
        self.response.write(json.dumps({
            "when_created": APP_WHEN_CREATED is self.app,
            "app": cls.app is self.app and cls.active_instance is self.app,
            "request": cls.request is self.request and self.app.request is self.request,
        }))


class GetResponse(webapp2.RequestHandler):
    """app.get_response(), as an app's tests call it: webapp2's Response,
    with its methods."""

    def get(self):
        r = INNER.get_response("/abort/404")
        self.response.write("%s %s %s" % (type(r).__name__, r.has_error(), r.status_message))


class ImportFails(webapp2.RequestHandler):
    def get(self):
        try:
            webapp2.import_string("no_such_module_here.Handler")
        except webapp2.ImportStringError as e:
            self.response.write("%s %s" % (e.import_name, type(e.exception).__name__))


class OldStyle(webapp.RequestHandler):
    """A handler written against the webapp name behind a webapp2 route: on
    python27 that is webapp2's RequestHandler (test_webapp.py serves webapp
    1.x's behind one on `runtime: python`)."""

    def get(self, word):
        self.response.out.write("old %s" % word)


def function_handler(request, word):
    return webapp2.Response("function %s %s" % (word, request.route_kwargs))


class BareHandler(object):
    """No RequestHandler: webapp2 made any handler class with (request,
    response) and called its dispatch()."""

    def __init__(self, request, response):
        self.request, self.response = request, response

    def dispatch(self):
        self.response.write("bare %s" % self.request.route_kwargs["word"])
        return self.response


def function_slug(request, slug):
    """A function behind a route with an unnamed and a named variable: gets
    the named one alone, as webapp2 passed it."""
    return webapp2.Response("function slug %s" % slug)


def not_found(request, response, exception):
    response.headers["Content-Type"] = "text/plain"
    response.write("custom 404 for %s" % request.path)


def server_error(request, response, exception):
    response.headers["Content-Type"] = "text/plain"
    response.write("custom 500: %s" % exception)


def not_implemented(request, response, exception):
    response.write("custom 501 for %s" % request.method)


class ReturnsText(webapp2.RequestHandler):
    """Returns what is no response: a 500 from the app (with debug, the
    traceback)."""

    def get(self):
        return "not a response"


class Patch(webapp2.RequestHandler):
    def patch(self):
        self.response.write("patched")


class GroupRoute(webapp2.BaseRoute):
    """An app's own route grouping others, in the way webapp2's router
    asked routes for what they stand for."""

    def __init__(self, routes):
        super().__init__(None)
        self.routes = routes

    def get_routes(self):
        return iter(self.routes)


class PairsRoute(webapp2.BaseRoute):
    """Groups routes the way webapp2's interface has it: get_build_routes
    yields (name, route) pairs, its own and those of the routes it asks."""

    def __init__(self, routes):
        super().__init__(None)
        self.routes = routes

    def get_match_routes(self):
        for route in self.routes:
            yield from route.get_match_routes()

    def get_build_routes(self):
        for route in self.routes:
            for name, built in route.get_build_routes():
                yield name, built


class NotPostRoute(webapp2.BaseRoute):
    """Says POST is not for it the way webapp2's routes did: a later route
    takes it."""

    def match(self, request):
        if request.path == self.template and request.method == "POST":
            raise webob.exc.HTTPMethodNotAllowed()
        return None


ROUTES = [
    webapp2.Route("/<rest:.*>", name="anywhere", build_only=True),
    NotPostRoute("/only-post"),
    ("/", Home),
    webapp2.Route("/post/<post_id:\\d+>", Post, name="post", defaults={"view": "short"}),
    webapp2.Route("/pos/<:\\w+>/<:\\d+>", Positional),
    webapp2.Route("/mixed/<a>/<:\\d+>", Positional),
    webapp2.Route("/blog/<:\\d{4}>/<slug>", Slug),
    webapp2.Route("/only-post", PostOnly, methods=["POST"]),
    webapp2.Route("/lazy/<word>", "lazy_handlers.Lazy"),
    webapp2.Route("/custom/<word>", "lazy_handlers.Lazy:custom"),
    webapp2.Route("/function/<word>", function_handler),
    webapp2.Route("/fblog/<:\\d{4}>/<slug>", function_slug),
    webapp2.Route("/bare/<word>", BareHandler),
    webapp2.Route("/caf\u00e9 menu/<item>", Positional, name="cafe"),
    (r"/regex/(\w+)/(\d+)", Positional),
    (r"/abort/(\d+)", Aborts),
    (r"/redirect/(\w+)", Redirects),
    ("/fails", Fails),
    ("/handles", Handles),
    ("/registry", Registry),
    ("/globals", Globals),
    GroupRoute([webapp2.Route("/grouped/<word>", function_handler, name="grouped")]),
    PairsRoute([webapp2.Route("/paired/<word>", function_handler, name="paired")]),
    ("/import-fails", ImportFails),
    ("/get-response", GetResponse),
    (r"/old/(\w+)", OldStyle),
    webapp2.Route("/moved", webapp2.RedirectHandler, defaults={"_uri": "/target"}),
    webapp2.Route("/moved-for-now", webapp2.RedirectHandler,
                  defaults={"_uri": "/target", "_permanent": False}),
    webapp2.Route("/built-only/<x>", name="built", build_only=True),
]

app = webapp2.WSGIApplication(ROUTES, config={"name": "cfg"})
APP_WHEN_CREATED = webapp2.get_app()
app.error_handlers[404] = not_found
app.error_handlers[500] = server_error
app.error_handlers[501] = not_implemented


class PatchApp(webapp2.WSGIApplication):
    allowed_methods = webapp2.WSGIApplication.allowed_methods.union(("PATCH",))


debug_app = PatchApp([("/debug/fails", Fails), ("/debug/patch", Patch),
                     ("/debug/returns-text", ReturnsText)], debug=True)

INNER = webapp2.WSGIApplication([(r"/abort/(\\d+)", Aborts)])

warnings.simplefilter("error", WSGIWarning)
validated = validator(webapp2.WSGIApplication([webapp2.Route("/validated/<x>", Positional)]))
