# run_bare_wsgi_app: the application as it is, without appengine_config's
# middleware.
from google.appengine.ext import webapp
from google.appengine.ext.webapp.util import run_bare_wsgi_app


class Bare(webapp.RequestHandler):
    def get(self):
        self.response.out.write("bare")


def main():
    run_bare_wsgi_app(webapp.WSGIApplication([("/bare/", Bare)]))


if __name__ == "__main__":
    main()
