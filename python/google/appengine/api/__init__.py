"""App Engine service APIs (google.appengine.api.*)."""


def wrap_wsgi_app(app, use_legacy_context_mode=True, use_deferred=False):
    """Returns app itself, ready to call App Engine's APIs.

    Python 3 apps on App Engine's bundled services (the
    appengine-python-standard package) wrap their WSGI app with this at
    import time: `app.wsgi_app = wrap_wsgi_app(app.wsgi_app)`. Its
    middlewares gave each request what gaelic's runtime already gives every
    request: os.environ per request (the legacy context mode), the request's
    API ticket and its logs. So there is nothing to add; the arguments are
    taken as there. use_deferred routed /_ah/queue/deferred to the deferred
    library, which needs the task queue service gaelic does not have yet.
    """
    del use_legacy_context_mode, use_deferred
    return app
