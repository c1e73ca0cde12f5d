"""A WSGI handler in the same app as the CGI scripts: its print() output is
log output, never part of the response."""


def app(environ, start_response):
    print("WSGI-PRINT-MARKER from the wsgi handler")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"wsgi response"]
