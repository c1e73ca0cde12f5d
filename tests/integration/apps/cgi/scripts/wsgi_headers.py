# A WSGI application served from a CGI script with run_bare_wsgi_app:
# ?v=VALUE is sent as the value of header X-Value, ?s=STATUS as the status.
import urllib.parse

from google.appengine.ext.webapp.util import run_bare_wsgi_app


def app(environ, start_response):
    q = dict(urllib.parse.parse_qsl(environ["QUERY_STRING"], keep_blank_values=True))
    start_response(q.get("s", "200 OK"),
                   [("Content-Type", "text/plain"), ("X-Value", q.get("v", "plain"))])
    return [b"wsgi in cgi"]


def main():
    run_bare_wsgi_app(app)


if __name__ == "__main__":
    main()
