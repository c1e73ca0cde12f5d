"""webapp handlers served as WSGI applications (main.application,
main.debug_application, main.validated under wsgiref.validate, and
main.mixed, webapp2's, with a webapp handler): webapp2's on python27, 1.x
on `runtime: python`."""
import json
import os
import warnings
from wsgiref.validate import WSGIWarning, validator

import webapp2

from google.appengine.api import users
from google.appengine.ext import webapp
from google.appengine.ext.webapp import util


def write_json(handler, value):
    handler.response.headers["Content-Type"] = "application/json"
    handler.response.out.write(json.dumps(value))


class Greeting(webapp.RequestHandler):
    def get(self):
        self.response.headers["Content-Type"] = "text/plain"
        self.response.out.write("Hello, webapp World!")


class NotText(webapp.RequestHandler):
    def get(self):
        self.response.headers["Content-Type"] = "text/plain"
        self.response.out.write(42)
        self.response.out.write(" ")
        self.response.write(1.5)
        # Bytes in a bytearray (a buffer filled by hand) go out as bytes.
        self.response.out.write(bytearray(b" ba"))


class EnvironmentListing(webapp.RequestHandler):
    def get(self):
        for name in sorted(os.environ.keys()):
            self.response.out.write("%s = %s<br />\n" % (name, os.environ[name]))


class Groups(webapp.RequestHandler):
    def get(self, *groups):
        write_json(self, groups)


class Arguments(webapp.RequestHandler):
    def handle(self):
        r = self.request
        write_json(self, {
            "name": r.get("name"),
            "missing": r.get("missing"),
            "fallback": r.get("missing", "fallback"),
            "tags": r.get_all("tag"),
            "multiple": r.get("tag", allow_multiple=True),
            "multiple_fallback": r.get("missing", ["d"], allow_multiple=True),
            "first_tag": r.get("tag"),
            "arguments": r.arguments(),
            "range": r.get_range("n", min_value=0, max_value=10, default=5),
            "uri": r.uri,
            "query": r.query,
        })

    get = post = handle


class Upload(webapp.RequestHandler):
    def post(self):
        content = self.request.get("file")
        self.response.headers["X-Value-Type"] = type(content).__name__
        self.response.out.write(content)


class PostOnly(webapp.RequestHandler):
    def post(self):
        self.response.out.write("posted")

    def delete(self):
        self.response.out.write("deleted")


class Redirects(webapp.RequestHandler):
    def get(self, kind):
        if kind == "permanent":
            self.redirect("/hello", permanent=True)
        elif kind == "relative":
            self.redirect("elsewhere?x=1")
        elif kind == "unicode":
            self.redirect("/caf\u00e9/\u65e5?q=\u65e5#\u00e9")
        elif kind == "unicode-host":
            self.redirect("http://b\u00fccher.example:8080/\u00fc")
        else:
            self.response.out.write("this body is dropped")
            self.redirect("/hello")


class Forbidden(webapp.RequestHandler):
    def get(self):
        self.response.out.write("not for you to see")
        self.error(403)
        self.response.headers["X-Has-Error"] = str(self.response.has_error())


class Fails(webapp.RequestHandler):
    def get(self):
        self.response.out.write("partial output")
        raise ValueError("webapp-handler-failure-marker")


class Custom(webapp.RequestHandler):
    def get(self):
        self.response.headers["X-Webapp-Header"] = "set by the handler"
        # webapp's headers were wsgiref's Headers (webapp2 kept their methods).
        self.response.headers.add_header("Set-Cookie", "a=1; Path=/")
        self.response.headers.add_header("Set-Cookie", "b=2")
        self.response.headers.add_header("Content-Disposition", "attachment",
                                         file_name='say "hi".txt', inline=None)
        self.response.headers["X-Cookies"] = str(len(self.response.headers.get_all("Set-Cookie")))
        self.response.set_status(299, "Quite Custom")
        self.response.out.write("%s|%s|%d" % (self.response.status,
                                              self.response.status_message,
                                              self.response.status_int))


class Reworded(webapp.RequestHandler):
    def get(self):
        self.response.set_status(404)
        self.response.status_message = "Gone Fishing"
        self.response.out.write(self.response.status)


class Standard(webapp.RequestHandler):
    def get(self):
        self.response.set_status(202)
        self.response.headers["X-Reason-404"] = webapp.Response.http_status_message(404)
        # has_error(), of webapp's Response and webapp2's.
        self.response.headers["X-Has-Error"] = str(self.response.has_error())
        self.response.out.write(self.response.status)


class Text(webapp.RequestHandler):
    def get(self):
        self.response.out.write("h\u00e9llo \u2603 ")
        self.response.out.write(b"bytes ")
        print("printed", file=self.response.out)


class BodySet(webapp.RequestHandler):
    def get(self):
        self.response.headers["Content-Type"] = "text/plain; charset=latin-1"
        self.response.body = "caf\u00e9"  # Python 2 code's str


class Head(webapp.RequestHandler):
    def get(self):
        self.response.out.write("the get body")

    def head(self):
        self.response.headers["X-Head"] = "yes"


class Cleared(webapp.RequestHandler):
    def get(self):
        self.response.out.write("gone")
        self.response.clear()
        self.response.out.write("kept")


class TemplatePage(webapp.RequestHandler):
    def get(self):
        # Imported here: the other pages must not need Django.
        import datetime
        from google.appengine.ext.webapp import template
        template.register_template_library("templatefilters")
        path = os.path.join(os.path.dirname(__file__), "templates", "page.html")
        self.response.out.write(template.render(path, {
            "title": "a title", "kind": self.request.get("kind"), "numbers": [1, 2, 3],
            "unsafe": "<b>&</b>", "when": datetime.date(2011, 3, 9), "word": "hey",
        }, debug=self.request.get("debug") == "1"))


class TemplateString(webapp.RequestHandler):
    def get(self):
        from google.appengine.ext.webapp import template
        t = template.Template("{{ a }} and {{ b|default:'none' }}")
        self.response.out.write(t.render(template.Context({"a": "<x>"})))


class TemplateLibraryImport(webapp.RequestHandler):
    def get(self):
        # What app.yaml does not list stays refused, Django's modules aside.
        try:
            import flask  # noqa: F401
            self.response.out.write("flask imported")
        except ImportError as e:
            self.response.out.write("refused: %s" % e)


class Private(webapp.RequestHandler):
    @util.login_required
    def get(self, part):
        self.response.out.write("%s for %s" % (part, users.get_current_user().email()))

    post = get


class Implementation(webapp.RequestHandler):
    def get(self):
        write_json(self, {"runtime": os.environ.get("APPENGINE_RUNTIME"),
                          "webapp2": webapp.WSGIApplication is webapp2.WSGIApplication})


class WebobImport(webapp.RequestHandler):
    def get(self):
        import webob
        self.response.out.write(webob.__file__)


ROUTES = [
    ("/hello", Greeting),
    ("/body-set", BodySet),
    ("/not-text", NotText),
    ("/environ", EnvironmentListing),
    (r"/groups/(\w+)/(\d+)", Groups),
    ("/quoted/(.*)", Groups),
    ("/optional(/x)?", Groups),
    ("/args", Arguments),
    ("/upload", Upload),
    ("/post-only", PostOnly),
    ("/redirect/(.*)", Redirects),
    ("/forbidden", Forbidden),
    ("/fails", Fails),
    ("/custom", Custom),
    ("/standard", Standard),
    ("/reworded", Reworded),
    ("/text", Text),
    ("/head", Head),
    ("/cleared", Cleared),
    ("/webob", WebobImport),
    ("/implementation", Implementation),
    ("/private/(.*)", Private),
    ("/template", TemplatePage),
    ("/template-string", TemplateString),
    ("/template-unlisted", TemplateLibraryImport),
    ("/first", Greeting),
    ("/fir.*", Forbidden),  # never reached for /first: the first match wins
]

if os.environ.get("APPENGINE_RUNTIME") == "python":
    # webapp 1.x's factories: a handler class made with arguments, as the
    # SDK's RedirectHandler is (webapp2, python27's webapp, has neither).
    ROUTES[:0] = [("/moved", webapp.RedirectHandler.new_factory("/hello", permanent=True)),
                  ("/moved-for-now", webapp.RedirectHandler.new_factory("/hello"))]

application = webapp.WSGIApplication(ROUTES)
debug_application = webapp.WSGIApplication([("/debug/fails", Fails)], debug=True)

# webapp 1.x's handlers behind webapp2's routes, as webapp's own call them.
mixed = webapp2.WSGIApplication([webapp2.Route(r"/mixed/<:\w+>", Groups)])

# Any PEP 3333 violation raises inside the validator.
warnings.simplefilter("error", WSGIWarning)
validated = validator(webapp.WSGIApplication([("/validated/head", Head),
                                              (r"/validated/(\w+)", Groups)]))
