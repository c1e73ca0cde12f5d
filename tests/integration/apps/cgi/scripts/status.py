import os
import urllib.parse

q = dict(urllib.parse.parse_qsl(os.environ.get("QUERY_STRING", "")))
print("Status: %s" % q.get("s", "404 Not Found"))
print("Content-Type: text/plain")
print("X-Custom: hello")
print("")
print("status page")
