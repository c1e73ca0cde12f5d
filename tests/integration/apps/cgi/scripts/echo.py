# Echoes the request body, read as text (sys.stdin) or bytes (.buffer).
import os
import sys

if "bytes" in os.environ.get("QUERY_STRING", ""):
    data = sys.stdin.buffer.read()
    kind = "bytes"
else:
    data = sys.stdin.read().encode("utf-8", "surrogateescape")
    kind = "text"
print("Content-Type: application/octet-stream")
print("X-Kind: " + kind)
print("X-Content-Length: " + os.environ.get("CONTENT_LENGTH", ""))
print("")
sys.stdout.flush()
sys.stdout.buffer.write(data)
