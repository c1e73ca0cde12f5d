"""Its middleware marks every answer, so tests see where it applies."""


def webapp_add_wsgi_middleware(app):
    def marked(environ, start_response):
        def start(status, headers, exc_info=None):
            return start_response(status, headers + [("X-Config-Middleware", "yes")], exc_info)
        return app(environ, start)
    return marked
