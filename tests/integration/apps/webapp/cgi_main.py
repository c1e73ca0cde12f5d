# A CGI script in the style of App Engine's python25 examples: defining
# main() makes the runtime keep the module, so later requests run only
# main() and the module's globals last.
import os

from google.appengine.ext import webapp
from google.appengine.ext.webapp.util import run_wsgi_app

requests_served = 0


class Greeting(webapp.RequestHandler):
    def get(self):
        self.response.headers["Content-Type"] = "text/plain"
        self.response.out.write("Hello, webapp World!")


class Counter(webapp.RequestHandler):
    def get(self):
        self.response.headers["Content-Type"] = "text/plain"
        self.response.out.write("%d %s" % (requests_served, os.environ["INSTANCE_ID"]))


class Form(webapp.RequestHandler):
    def post(self):
        self.response.out.write("%s|%s" % (self.request.get("name"),
                                           ",".join(self.request.get_all("tag"))))


class Elsewhere(webapp.RequestHandler):
    def get(self):
        self.redirect("hello")


class Fails(webapp.RequestHandler):
    def get(self):
        raise RuntimeError("webapp-cgi-failure-marker")


application = webapp.WSGIApplication([
    ("/cgi/hello", Greeting),
    ("/cgi/count", Counter),
    ("/cgi/form", Form),
    ("/cgi/redirect", Elsewhere),
    ("/cgi/fails", Fails),
], debug=True)


def main():
    global requests_served
    requests_served += 1
    run_wsgi_app(application)


if __name__ == "__main__":
    main()
