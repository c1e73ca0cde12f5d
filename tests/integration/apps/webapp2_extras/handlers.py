"""Handlers main.py names by string, under a HandlerPrefixRoute."""
import webapp2


class Named(webapp2.RequestHandler):
    def get(self, **kwargs):
        self.response.write("named %s %s" % (self.request.route.name, kwargs.get("item")))
