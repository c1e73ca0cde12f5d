"""Named by string in main.py's routes: imported when first routed to."""
import webapp2

IMPORTS = []
IMPORTS.append(1)


class Lazy(webapp2.RequestHandler):
    def get(self, word):
        self.response.headers["Content-Type"] = "text/plain"
        self.response.write("lazy %s %d" % (word, len(IMPORTS)))

    def custom(self, word):
        self.response.headers["Content-Type"] = "text/plain"
        self.response.write("custom %s" % word)
