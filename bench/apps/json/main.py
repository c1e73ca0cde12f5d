"""Benchmark app: a 20-key dict serialised with json.dumps on every request."""
import json

DATA = {
    "id": 12345, "name": "gaelic", "kind": "benchmark", "active": True,
    "score": 98.6, "tags": ["a", "b", "c"], "owner": {"id": 7, "name": "x"},
    "created": "2024-01-01T00:00:00Z", "updated": "2024-06-01T12:34:56Z",
    "count": 0, "ratio": 0.25, "enabled": False, "nothing": None,
    "language": "python", "version": "3.11", "region": "local",
    "limits": [1, 2, 4, 8], "description": "twenty keys of mixed types",
    "url": "http://127.0.0.1/", "checksum": "d41d8cd98f00b204e9800998ecf8427e",
}
assert len(DATA) == 20


def application(environ, start_response):
    body = json.dumps(DATA).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
