# A CGI script whose main() calls app.run(): the runtime keeps the module.
import webapp2

requests_served = 0


class Counter(webapp2.RequestHandler):
    def get(self):
        self.response.headers["Content-Type"] = "text/plain"
        self.response.write("cgi %d" % requests_served)


app = webapp2.WSGIApplication([("/cgi/count", Counter)])


def main():
    global requests_served
    requests_served += 1
    app.run()


if __name__ == "__main__":
    main()
