import os
import urllib.parse

q = dict(urllib.parse.parse_qsl(os.environ.get("QUERY_STRING", "")))
print("Status: %s" % q.get("s", "200"))
print("")
