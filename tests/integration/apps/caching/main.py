"""RT4/RT5 probe: a module-level counter, a package import, a sourceless
.pyc and modules from a zip archive put on sys.path the App Engine way."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib.zip"))

import pkg.sub.mod  # noqa: E402  (a package in the app root)

COUNT = 0


def _answer(start_response, obj):
    body = json.dumps(obj, sort_keys=True).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def app(environ, start_response):
    global COUNT
    path = environ["PATH_INFO"]
    if path == "/counter":
        COUNT += 1
        return _answer(start_response, {
            "count": COUNT, "instance_id": os.environ.get("INSTANCE_ID"), "pid": os.getpid(),
            "module_id": id(sys.modules[__name__]), "pkg_loaded_at": pkg.sub.mod.LOADED_AT,
            "where": pkg.sub.mod.where()})
    if path == "/pyc":
        import compiled_mod
        return _answer(start_response, {"value": compiled_mod.VALUE,
                                        "file": compiled_mod.__file__})
    if path == "/zip":
        import zipped_mod
        import zipped_pkg.inner
        return _answer(start_response, {"value": zipped_mod.VALUE,
                                        "file": zipped_mod.__file__,
                                        "pkg_value": zipped_pkg.inner.VALUE})
    if path == "/sys_path":
        return _answer(start_response, {"sys_path": sys.path,
                                        "root": os.path.dirname(os.path.abspath(__file__))})
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]
