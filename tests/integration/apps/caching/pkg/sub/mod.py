"""A module inside a package; also a WSGI handler by dotted path."""
import time

LOADED_AT = time.time()  # the module body runs once per instance (RT4)


def where():
    return __name__


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"deep handler " + environ["PATH_INFO"].encode("latin-1")]
