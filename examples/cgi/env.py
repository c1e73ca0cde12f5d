"""An uncached CGI script (no main()): executed again on every request. It
prints the request's environment and body."""
import html
import os
import sys

body = sys.stdin.read()

print("Content-Type: text/html; charset=utf-8")
print()
print("<!DOCTYPE html><html><head><title>Environment</title></head><body>")
print("<h1>%s %s</h1>" % (html.escape(os.environ.get("REQUEST_METHOD", "")),
                          html.escape(os.environ.get("PATH_INFO", ""))))
print("<table>")
for name in sorted(os.environ):
    print("<tr><th>%s</th><td>%s</td></tr>" % (html.escape(name), html.escape(os.environ[name])))
print("</table>")
if body:
    print("<h2>Request body</h2><pre>%s</pre>" % html.escape(body))
print("</body></html>")
