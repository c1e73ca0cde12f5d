"""Echoes the method, path, query and body it was given, as JSON."""
import json


def app(environ, start_response):
    size = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(size).decode("latin-1")
    out = json.dumps({"method": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"],
                      "query": environ.get("QUERY_STRING", ""), "body": body}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [out]
