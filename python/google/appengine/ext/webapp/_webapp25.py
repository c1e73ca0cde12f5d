"""webapp 1.x: google.appengine.ext.webapp of App Engine's python 2.5
runtime (`runtime: python` apps; python27's webapp is webapp2, see
webapp/__init__). A small WSGI framework on WebOb.

An app maps URL regular expressions to RequestHandler subclasses:

    application = webapp.WSGIApplication([('/', MainPage),
                                          (r'/user/(\\w+)', UserPage)])

For each request the WSGIApplication takes the first expression that
matches the whole (URL-quoted) path, makes a handler of its class and calls
the handler's method named after the HTTP method in lower case, with the
expression's groups, URL-unquoted, as arguments. No match is a 404 with an
empty body; a handler without that method a 405 with an Allow header
naming those it has; a method outside allowed_methods a 501. The handler
reads self.request and fills self.response, which is then the WSGI answer.

Request and Response are WebOb's, with webapp's additions
(google.appengine.ext._webapp_webob, which webapp2 extends too):
`response.status` is WebOb's '200 OK' string (status_int is the number).
Django templates are in webapp.template, login_required in webapp.util.

WebOb is Debian's python3-webob, which apps import without listing it in
app.yaml, as App Engine enabled it by default (the runtime's libraries
gate, src/libraries.c).
"""
import logging
import re
import urllib.parse

from google.appengine.ext._webapp_webob import (Request, Response, ResponseHeaders,
                                                iri_to_uri, traceback_html)

__all__ = ['Error', 'Request', 'Response', 'ResponseHeaders', 'RequestHandler',
           'RedirectHandler', 'WSGIApplication']


class Error(Exception):
    """Raised by webapp itself (webapp.util.login_required on a POST, on
    either runtime)."""


class RequestHandler:
    """Base class of the handlers an app maps URLs to. A subclass defines
    get(), post(), ... taking the URL expression's groups."""

    request = None
    response = None

    def initialize(self, request, response):
        self.request = request
        self.response = response

    def error(self, code):
        """Answers with status code and an empty body."""
        self.response.set_status(code)
        self.response.clear()

    def redirect(self, uri, permanent=False):
        """Redirects to uri (relative to the request's URL) with 302 Found,
        or 301 Moved Permanently when permanent."""
        self.response.set_status(301 if permanent else 302)
        self.response.clear()
        self.response.headers['Location'] = iri_to_uri(
            urllib.parse.urljoin(self.request.url, uri))

    def handle_exception(self, exception, debug_mode):
        """Called with what a handler method raised: logs it with its
        traceback and answers 500; in debug mode the traceback is the body.
        Override it to answer otherwise."""
        logging.error('%s: %s', type(exception).__name__, exception, exc_info=exception)
        self.error(500)
        if debug_mode:
            self.response.headers['Content-Type'] = 'text/html; charset=utf-8'
            self.response.out.write(traceback_html(exception))

    @classmethod
    def new_factory(cls, *args, **kwargs):
        """What a URL mapping may name in place of the class: a callable
        making a handler of this class with these constructor arguments
        (RedirectHandler.new_factory('/home'), say)."""
        def new_instance():
            return cls(*args, **kwargs)
        new_instance.__name__ = cls.__name__ + 'Factory'
        return new_instance


class RedirectHandler(RequestHandler):
    """Redirects GET requests to path: map a URL to
    RedirectHandler.new_factory('/home', permanent=True)."""

    def __init__(self, path, permanent=False):
        self.path = path
        self.permanent = permanent

    def get(self, *groups):
        self.redirect(self.path, permanent=self.permanent)


class WSGIApplication:
    """A WSGI application routing requests to RequestHandler classes."""

    # Those a handler may answer; other methods get 501. Apps added PATCH
    # here with webapp2 (allowed_methods = allowed_methods | {'PATCH'}).
    allowed_methods = frozenset(('GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'))

    REQUEST_CLASS = Request
    RESPONSE_CLASS = Response

    def __init__(self, url_mapping, debug=False):
        """url_mapping: (regular expression, RequestHandler subclass)
        pairs, tried in order; debug: show tracebacks in 500 answers."""
        self.debug = debug
        self._routes = [(re.compile(pattern), handler_class)
                        for pattern, handler_class in url_mapping]

    def _match(self, path):
        """(handler class, unquoted groups) of the first route matching
        all of path, or (None, ())."""
        for pattern, handler_class in self._routes:
            m = pattern.fullmatch(path)
            if m:
                return handler_class, tuple(None if g is None else urllib.parse.unquote(g)
                                            for g in m.groups())
        return None, ()

    def __call__(self, environ, start_response):
        request = self.REQUEST_CLASS(environ)
        response = self.RESPONSE_CLASS()
        handler_class, groups = self._match(request.path)
        method = environ['REQUEST_METHOD']
        if handler_class is None:
            response.set_status(404)
        elif method not in self.allowed_methods:
            response.set_status(501)
        else:
            handler = handler_class()
            handler.initialize(request, response)
            handler_method = getattr(handler, method.lower(), None)
            if handler_method is None:
                handler.error(405)
                response.headers['Allow'] = ', '.join(
                    m for m in sorted(self.allowed_methods)
                    if callable(getattr(handler, m.lower(), None)))
            else:
                try:
                    handler_method(*groups)
                except Exception as e:
                    handler.handle_exception(e, self.debug)
        return response(environ, start_response)
