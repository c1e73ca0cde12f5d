"""The smallest gaelic app: a plain WSGI application.

GET /     -> "Hello, world!"
GET /env  -> the App Engine environment variables of this request, as text
"""
import os

# Variables App Engine sets for every request (RT8), in display order.
APPENGINE_VARS = (
    "APPLICATION_ID",
    "CURRENT_VERSION_ID",
    "AUTH_DOMAIN",
    "SERVER_SOFTWARE",
    "REQUEST_LOG_ID",
    "INSTANCE_ID",
    "DEFAULT_VERSION_HOSTNAME",
    "USER_EMAIL",
    "USER_ID",
    "USER_IS_ADMIN",
)


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/":
        body = b"Hello, world!"
    elif path == "/env":
        lines = ["%s=%s" % (k, os.environ[k]) for k in APPENGINE_VARS if k in os.environ]
        body = ("\n".join(lines) + "\n").encode("utf-8")
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not found\n"]
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
