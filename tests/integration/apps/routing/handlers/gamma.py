def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"handlers.gamma " + environ["PATH_INFO"].encode("latin-1")]
