# A WSGI application served from a CGI script with wsgiref.handlers'
# BaseCGIHandler, given the request's variables: answers the cookie and the
# body length the application got.
import json
import os
import sys
import wsgiref.handlers


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({k: environ.get(k) for k in ("HTTP_COOKIE", "CONTENT_LENGTH")}).encode()]


def main():
    wsgiref.handlers.BaseCGIHandler(sys.stdin.buffer, sys.stdout.buffer, sys.stderr,
                                    dict(os.environ)).run(app)


if __name__ == "__main__":
    main()
