"""PEP 3333 conformance probe: the inner app uses every part of the
interface (wsgi.input readline/read, wsgi.errors, write(),
an iterable result) under wsgiref.validate, with its warnings made errors."""
import warnings
from wsgiref.validate import WSGIWarning, validator

warnings.simplefilter("error", WSGIWarning)


def inner(environ, start_response):
    inp = environ["wsgi.input"]
    cl = environ.get("CONTENT_LENGTH") or "0"
    n = int(cl)
    first = inp.readline() if n else b""
    rest = inp.read(n - len(first)) if n else b""
    environ["wsgi.errors"].write("validated request %s %s\n"
                                 % (environ["REQUEST_METHOD"], environ["PATH_INFO"]))
    environ["wsgi.errors"].flush()
    body = b"method=" + environ["REQUEST_METHOD"].encode() + b"\nbody=" + first + rest
    write = start_response("200 OK", [("Content-Type", "text/plain"),
                                      ("Content-Length", str(len(body) + 3))])
    write(body[:3])
    return [body[3:], b"\nok"]


app = validator(inner)
