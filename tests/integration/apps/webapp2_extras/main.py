"""webapp2_extras over real HTTP: json, security, securecookie, sessions,
routes and jinja2."""
import webapp2
from webapp2_extras import json, jinja2, security, sessions
from webapp2_extras.routes import (DomainRoute, HandlerPrefixRoute, NamePrefixRoute,
                                   PathPrefixRoute, RedirectRoute)
from webapp2_extras.appengine import users
from webapp2_extras.securecookie import SecureCookieSerializer

SECRET = "test-secret-key"


class JsonPage(webapp2.RequestHandler):
    def get(self):
        value = json.decode(self.request.get("v"))
        self.response.headers["Content-Type"] = "application/json"
        self.response.write(json.encode({
            "value": value,
            "html": "</script>",
            "b64": json.b64decode(json.b64encode(value)) == value,
            "quote": json.unquote(json.quote(value)) == value,
        }))


class SecurityPage(webapp2.RequestHandler):
    def get(self):
        pwhash = security.generate_password_hash("s3cret", method="sha256", pepper="pp")
        self.response.write(json.encode({
            "hash_parts": pwhash.split("$")[1:2] + [len(pwhash.split("$")[2])],
            "right": security.check_password_hash("s3cret", pwhash, pepper="pp"),
            "wrong": security.check_password_hash("nope", pwhash, pepper="pp"),
            "no_pepper": security.check_password_hash("s3cret", pwhash),
            "random": security.generate_random_string(length=16),
            "digits": security.generate_random_string(length=8, pool=security.DIGITS),
            "compare": [security.compare_hashes("ab", "ab"), security.compare_hashes("ab", "ac")],
        }))


class CookiePage(webapp2.RequestHandler):
    """Sets a signed cookie, or reads it back (max_age from the query)."""

    serializer = SecureCookieSerializer(SECRET)

    def get(self, op):
        if op == "set":
            self.response.set_cookie("signed", self.serializer.serialize("signed", {"n": [1, 2]}))
            return
        max_age = self.request.get("max_age")
        value = self.serializer.deserialize(
            "signed", self.request.cookies.get("signed"),
            max_age=int(max_age) if max_age else None)
        self.response.write(json.encode(value))


class SessionHandler(webapp2.RequestHandler):
    """The usual pattern: the store around dispatch, sessions saved after."""

    def dispatch(self):
        self.session_store = sessions.get_store(request=self.request)
        try:
            webapp2.RequestHandler.dispatch(self)
        finally:
            self.session_store.save_sessions(self.response)

    @webapp2.cached_property
    def session(self):
        return self.session_store.get_session()


class SessionPage(SessionHandler):
    def get(self, op):
        if op == "set":
            self.session["user"] = self.request.get("user")
            self.session.add_flash("welcome " + self.request.get("user"), "info")
        elif op == "prefs":
            # A secure cookie set for the request: one more session.
            self.session_store.set_secure_cookie("prefs", dict(self.request.GET.items()))
            self.response.write(json.encode(self.session_store.get_session("prefs")))
            return
        elif op == "backend":
            try:
                self.session_store.get_session("other", backend=self.request.get("name"))
            except NotImplementedError as e:
                self.response.write("NotImplementedError: %s" % e)
            return
        self.response.write(json.encode({
            "user": self.session.get("user"),
            "new": self.session.new,
            "flashes": self.session.get_flashes() if op == "read" else None,
        }))


class Render(webapp2.RequestHandler):
    def get(self):
        self.response.write(jinja2.get_jinja2(app=self.app).render_template(
            "page.html", title="Jinja", name="<b>ann</b>"))


class SignedIn(webapp2.RequestHandler):
    @users.login_required
    def get(self):
        self.response.write("signed in")

    post = get


class AdminOnly(webapp2.RequestHandler):
    @users.admin_required
    def get(self):
        self.response.write("admin")


def import_module(request):
    try:
        __import__(request.get("name"))
    except ImportError as e:
        return webapp2.Response("ImportError: %s" % e)
    return webapp2.Response("imported")


def echo(request, *args, **kwargs):
    """Says which route matched, with what, and what uri_for builds."""
    return webapp2.Response(json.encode({
        "route": request.route.name, "args": args, "kwargs": kwargs,
        "profile": webapp2.uri_for("user-profile", user="zed"),
        "item": webapp2.uri_for("user-item", user="zed", item=7),
    }))


class HostPage(webapp2.RequestHandler):
    def get(self, **kwargs):
        self.response.write("host %s" % sorted(kwargs.items()))


app = webapp2.WSGIApplication([
    ("/json", JsonPage),
    ("/security", SecurityPage),
    webapp2.Route("/cookie/<op>", CookiePage),
    webapp2.Route("/session/<op>", SessionPage),
    ("/jinja", Render),
    ("/signed/in", SignedIn),
    ("/signed/admin", AdminOnly),
    ("/import", import_module),
    RedirectRoute("/strict", echo, "strict", strict_slash=True),
    RedirectRoute("/slashed/", echo, "slashed", strict_slash=True),
    RedirectRoute("/old", redirect_to_name="strict"),
    RedirectRoute("/elsewhere", redirect_to="/slashed/"),
    NamePrefixRoute("user-", [PathPrefixRoute("/users/<user:\\w+>", [
        webapp2.Route("/profile", echo, "profile"),
        webapp2.Route("/items/<item:\\d+>", echo, "item"),
    ])]),
    HandlerPrefixRoute("handlers.", [webapp2.Route("/named/<item>", "Named", "named")]),
    DomainRoute("<sub>.example.test", [webapp2.Route("/", HostPage, "host-home")]),
    DomainRoute("<sub>.<zone:(?:eu|us)>.example.test", [
        webapp2.Route("/zone", HostPage),
    ]),
    # After the DomainRoute: hosts it does not match come here.
    webapp2.Route("/", HostPage),
], config={
    "webapp2_extras.sessions": {"secret_key": SECRET, "cookie_name": "sess",
                                "cookie_args": {"path": "/", "httponly": True}},
    "webapp2_extras.jinja2": {
        # Jinja2 2.x's extension, as python27 apps listed it.
        "environment_args": {"autoescape": True, "extensions": ["jinja2.ext.autoescape"]},
        "globals": {"site": "gaelic"},
        "filters": {"shout": lambda s: s.upper()},
    },
})
