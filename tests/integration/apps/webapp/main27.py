"""webapp2's interface through the webapp name: on python27, webapp is
webapp2 (main27.application; not served by the `runtime: python` copy)."""
import json

import webapp2

from google.appengine.ext import webapp
from google.appengine.ext.webapp import util


class Abort(webapp.RequestHandler):
    def get(self, code):
        self.abort(int(code))


class Identity(webapp.RequestHandler):
    def get(self):
        self.response.headers["Content-Type"] = "application/json"
        self.response.write(json.dumps({
            "same_classes": [webapp.WSGIApplication is webapp2.WSGIApplication,
                             webapp.RequestHandler is webapp2.RequestHandler,
                             webapp.Route is webapp2.Route],
            "self_app": self.app is application,
            "config": self.app.config.get("greeting"),
        }))


class Redirects(webapp.RequestHandler):
    def get(self, how):
        self.response.set_cookie("seen", "1")
        if how == "abort":
            self.redirect("/27/target", abort=True)
            self.response.write("not reached")
        else:
            self.redirect("/27/target", code=int(how))


class Item(webapp.RequestHandler):
    def get(self, item_id):
        self.response.status = 201  # a number, as webapp2 takes it
        self.response.write("item %s at %s" % (item_id, self.uri_for("item", item_id=item_id)))


class Private(webapp.RequestHandler):
    @util.login_required
    def get(self, part):  # a Route variable: a keyword argument
        self.response.write(part)


def not_found(request, response, exception):
    response.write("custom 404 for %s" % request.path)


application = webapp.WSGIApplication([
    webapp.Route(r"/27/abort/<code:\d+>", Abort),
    ("/27/identity", Identity),
    webapp.Route("/27/redirect/<how>", Redirects),
    webapp.Route(r"/27/item/<item_id:\d+>", Item, name="item"),
    webapp.Route("/27/private/<part>", Private),
], config={"greeting": "hi"})
application.error_handlers[404] = not_found
