# A WSGI application served from a CGI script with the standard library's
# bridge, wsgiref.handlers.CGIHandler, as App Engine's first tutorial did:
# answers the environ values the bridge built from the request.
import json
import wsgiref.handlers

KEYS = ("PATH_INFO", "QUERY_STRING", "HTTP_X_PROBE", "HTTP_COOKIE")


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({k: environ.get(k) for k in KEYS}).encode()]


def main():
    wsgiref.handlers.CGIHandler().run(app)


if __name__ == "__main__":
    main()
