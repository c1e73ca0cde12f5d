"""Writes its response, then closes sys.stdout (or, with ?buffer, its
binary buffer), as a CGI script may to say its output is complete."""
import os
import sys

print("Content-Type: text/plain")
print("")
print("all written")
if os.environ["QUERY_STRING"] == "buffer":
    sys.stdout.buffer.close()
else:
    sys.stdout.close()
