"""/yaml parses with the listed yaml library; /import?name=M tries to import
M and answers "ok FILE" or "ImportError: MESSAGE"."""
import importlib
import json
from urllib.parse import parse_qs


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/yaml":
        import yaml
        body = json.dumps(yaml.safe_load("a: [1, 2]\nb: text\n"))
    elif path == "/import":
        name = parse_qs(environ.get("QUERY_STRING", ""))["name"][0]
        try:
            m = importlib.import_module(name)
            body = "ok %s" % getattr(m, "__file__", "")
        except ImportError as e:
            body = "ImportError: %s" % e
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
