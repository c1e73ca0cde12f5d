"""webapp2: the WSGI framework App Engine's python27 runtime carried, so an
app could `import webapp2` without bundling it or listing it in app.yaml.

gaelic's own implementation of webapp2's documented interface, on Debian's
WebOb. On python27 google.appengine.ext.webapp is this module, as in App
Engine's SDK (`import webapp2 as webapp` is the same):

    app = webapp2.WSGIApplication([
        ('/', MainPage),                                # a regular expression
        webapp2.Route('/post/<post_id:\\d+>', PostPage, name='post'),
        webapp2.Route('/api/<:\\w+>', 'handlers.Api'),   # imported when first used
    ], debug=True)

A request goes to the first route that matches its path. A handler class
(a RequestHandler, or any class with __init__(request, response) and
dispatch()) is made with (request, response) and RequestHandler's
dispatch() calls its method
named after the HTTP method, lower case (or the route's handler_method),
with the route's named variables (and defaults) as keyword arguments, or,
when it has none, its unnamed ones as positional arguments. A plain
function handler gets (request, *args, **kwargs) and returns the
response; a webapp 1.x RequestHandler class (`runtime: python`'s webapp)
is called as webapp 1.x did. A handler that returns a response replaces
self.response.

Errors: abort(code) and redirect(abort=True) raise WebOb's HTTP
exceptions, which answer the request. Any exception, with its status code
(500 for a non-HTTP one), goes to app.error_handlers[code] when set, else
answers that status; a non-HTTP one is logged with its traceback, which
debug=True also shows in the 500 page. A path no route matches is 404, a
method a matching route does not take 405, a method outside
allowed_methods 501.

webapp2_extras (json, routes, security, securecookie, sessions, jinja2)
is the runtime's package beside this module. Not provided: Router's
set_adapter (and the handler adapter classes it takes).
"""
import importlib
import logging
import re
import sys
import threading
import urllib.parse

import webob
import webob.exc
# webapp2.exc, as webapp2 had it: apps raise webapp2.exc.HTTPBadRequest(...)
# and catch webapp2.exc.HTTPNotFound from router.match.
from webob import exc

# Not google.appengine.ext.webapp: on python27 that module is this one.
from google.appengine.ext import _webapp_webob

__version__ = '2.5.2'  # the version App Engine shipped

HTTPException = webob.exc.HTTPException

_local = threading.local()


def get_app():
    """The WSGIApplication answering this thread's request."""
    return getattr(_local, 'app', None)


def get_request():
    """The Request this thread is answering."""
    return getattr(_local, 'request', None)


class _ThreadGlobal:
    """A class attribute reading this thread's app or request:
    WSGIApplication.app (and .active_instance) and .request, on the class
    as on an instance."""

    def __init__(self, name):
        self.name = name

    def __get__(self, obj, objtype=None):
        return getattr(_local, self.name, None)


class cached_property:
    """A read-only attribute computed on first use, then kept in the
    instance."""

    def __init__(self, func, name=None, doc=None):
        self.func = func
        self.__name__ = name or func.__name__
        self.__module__ = func.__module__
        self.__doc__ = doc or func.__doc__
        self._lock = threading.RLock()

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        with self._lock:
            try:
                return obj.__dict__[self.__name__]
            except KeyError:
                value = obj.__dict__[self.__name__] = self.func(obj)
                return value


class ImportStringError(ImportError):
    """import_string could not import what the string names: import_name,
    and exception, the ImportError or AttributeError it met."""

    def __init__(self, import_name, exception):
        super().__init__('cannot import %r: %s' % (import_name, exception))
        self.import_name = import_name
        self.exception = exception


def import_string(import_name, silent=False):
    """The object 'package.module.name' (or 'package.module:name') names;
    with silent, None instead of ImportStringError when it cannot."""
    module_name, sep, attr = import_name.replace(':', '.').rpartition('.')
    try:
        if not sep:
            return importlib.import_module(attr)
        try:
            return getattr(importlib.import_module(module_name), attr)
        except AttributeError:
            return importlib.import_module(import_name.replace(':', '.'))
    except (ImportError, AttributeError) as e:
        if silent:
            return None
        raise ImportStringError(import_name, e) from e


class Request(_webapp_webob.Request):
    """webapp 1.x's Request (webob.Request with get, get_all, arguments and
    get_range), with where it was routed."""

    app = None
    response = None
    route = None
    route_args = ()
    route_kwargs = None
    _routed_path = None  # see routed_path()

    def __init__(self, environ, *args, **kwargs):
        super().__init__(environ, *args, **kwargs)
        # Per request, for the app's handlers to share things in.
        self.registry = {}


class Response(_webapp_webob.Response):
    """webapp 1.x's Response (write, out, set_status, clear, has_error,
    wsgi_write), whose status may also be set as a number:
    response.status = 404."""


# As in webapp2: request.get_response(app) (and app.get_response) make
# this module's Response, not WebOb's.
Request.ResponseClass = Response
Response.RequestClass = Request


def abort(code, *args, **kwargs):
    """Raises the WebOb HTTP exception of status code (args go to it:
    detail, headers, comment, ...)."""
    cls = webob.exc.status_map.get(code)
    if cls is None:
        raise KeyError('no HTTP exception for status %r' % (code,))
    raise cls(*args, **kwargs)


def redirect(uri, permanent=False, abort=False, code=None, body=None,
             request=None, response=None):
    """A redirect to uri (relative to the request's URL; what is not ASCII
    is escaped, see _webapp_webob.iri_to_uri): 302, or 301 when
    permanent, or code (301, 302, 303, 305 or 307). With abort it is raised
    as an HTTP exception carrying response's headers; otherwise response
    (a new one by default) is emptied, gets the status, the Location and
    body, and is returned."""
    request = request or get_request()
    if request is not None and not urllib.parse.urlsplit(uri).scheme:
        uri = urllib.parse.urljoin(request.url, uri)
    uri = _webapp_webob.iri_to_uri(uri)
    if code is None:
        code = 301 if permanent else 302
    if code not in (301, 302, 303, 305, 307):
        raise ValueError('%r is not a redirect status' % (code,))
    if abort:
        # As webapp2 did: what the handler set on the response (a cookie,
        # say) goes out with the redirect; the body and its type do not.
        headers = [] if response is None else [
            (k, v) for k, v in response.headerlist
            if k.lower() not in ('content-type', 'content-length', 'location')]
        raise webob.exc.status_map[code](location=uri, headers=headers)
    if response is None:
        app = getattr(request, 'app', None) or get_app()
        response = (app.response_class if app is not None else Response)()
    else:
        # What the handler wrote before redirecting does not go out.
        response.clear()
    response.status = code
    response.headers['Location'] = uri
    if body is not None:
        response.write(body)
    return response


def redirect_to(_name, _permanent=False, _abort=False, _code=None, _body=None,
                _request=None, _response=None, *args, **kwargs):
    """redirect() to the URL uri_for(_name, *args, **kwargs) builds."""
    uri = uri_for(_name, _request, *args, **kwargs)
    return redirect(uri, _permanent, _abort, _code, _body, _request, _response)


def uri_for(_name, _request=None, *args, **kwargs):
    """The URL of the route named _name with these variables (see
    Route.build); of this thread's request's app unless _request says."""
    request = _request or get_request()
    return request.app.router.build(request, _name, args, kwargs)


class RequestHandler:
    """Base class of the handlers routes lead to. A subclass defines get(),
    post(), ... taking the route's variables."""

    app = None
    request = None
    response = None

    def __init__(self, request=None, response=None):
        self.initialize(request, response)

    def initialize(self, request, response):
        self.request = request
        self.response = response
        self.app = getattr(request, 'app', None) or get_app()

    def dispatch(self):
        """Calls the handler method (the route's handler_method, else the
        HTTP method's name) with the route's variables; 405 when it has
        none. An exception it raises goes to handle_exception."""
        request = self.request
        route = request.route
        name = getattr(route, 'handler_method', None) or _method_attr(request.method)
        method = getattr(self, name, None)
        if method is None:
            allowed = ', '.join(m for m in sorted(self.app.allowed_methods)
                                if callable(getattr(self, _method_attr(m), None)))
            self.abort(405, headers=[('Allow', allowed)])
        args, kwargs = _handler_arguments(request)
        try:
            return method(*args, **kwargs)
        except Exception as e:
            return self.handle_exception(e, self.app.debug)

    def handle_exception(self, exception, debug):
        """What dispatch does with an exception: raise it again, for the
        application's error handling. Override it to answer otherwise."""
        raise exception

    def error(self, code):
        """Sets status code and empties the body."""
        self.response.status = code
        self.response.clear()

    def abort(self, code, *args, **kwargs):
        abort(code, *args, **kwargs)

    def redirect(self, uri, permanent=False, abort=False, code=None, body=None):
        return redirect(uri, permanent, abort, code, body, self.request, self.response)

    def redirect_to(self, _name, _permanent=False, _abort=False, _code=None, _body=None,
                    *args, **kwargs):
        uri = self.uri_for(_name, *args, **kwargs)
        return self.redirect(uri, _permanent, _abort, _code, _body)

    def uri_for(self, _name, *args, **kwargs):
        return self.app.router.build(self.request, _name, args, kwargs)

    # webapp2's older name for it, which it kept as an alias.
    url_for = uri_for


class RedirectHandler(RequestHandler):
    """Redirects to the route's defaults['_uri'] (a URL, or a function of
    (handler, *args, **kwargs) returning one); 301, or 302 with
    defaults['_permanent'] False, unless defaults['_code'] says."""

    def get(self, *args, **kwargs):
        uri = kwargs.pop('_uri', '/')
        permanent = kwargs.pop('_permanent', True)
        code = kwargs.pop('_code', None)
        if callable(uri):
            uri = uri(self, *args, **kwargs)
        return self.redirect(uri, permanent=permanent, code=code)

    head = options = post = put = delete = trace = patch = get


def _method_attr(method):
    return method.lower().replace('-', '_')


def _handler_arguments(request):
    # webapp2 passes a handler (a class's method or a function) the
    # unnamed variables only when the route gave no keyword arguments:
    # get(self, slug) behind '/<:\\d+>/<slug>' gets slug alone.
    kwargs = request.route_kwargs or {}
    return (() if kwargs else request.route_args), kwargs


def routed_path(request):
    """The URL-unquoted path routes match: made once per request, not once
    per route tried (about 2 us each, as WebOb builds request.path)."""
    if not isinstance(request, Request):
        return urllib.parse.unquote(request.path)
    if request._routed_path is None:
        request._routed_path = urllib.parse.unquote(request.path)
    return request._routed_path


class BaseRoute:
    """What the router asks of a route: match(request) returning
    (route, args, kwargs) or None (or raising HTTPMethodNotAllowed), and
    build(request, args, kwargs); get_match_routes() (routes) and
    get_build_routes() ((name, route) pairs, as webapp2 yielded them) say
    which routes one added stands for (itself by default; a route grouping
    others returns those)."""

    name = None
    build_only = False
    handler_method = None
    methods = None
    schemes = None

    def __init__(self, template, handler=None, name=None, build_only=False):
        self.template = template
        self.handler = handler
        self.name = name
        self.build_only = build_only
        if isinstance(handler, str) and ':' in handler:
            self.handler, _, self.handler_method = handler.partition(':')

    def get_routes(self):
        yield self

    def get_match_routes(self):
        for route in self.get_routes():
            if not route.build_only:
                yield route

    def get_build_routes(self):
        for route in self.get_routes():
            if route.name:
                yield route.name, route

    def match(self, request):
        raise NotImplementedError

    def build(self, request, args, kwargs):
        raise NotImplementedError(
            'route %r cannot build URLs' % (self.name or self.template,))


class SimpleRoute(BaseRoute):
    """A regular expression that must match the whole (URL-unquoted) path;
    its groups are the positional arguments. What a (regex, handler) pair
    in the route list becomes."""

    def __init__(self, template, handler=None, name=None, build_only=False):
        super().__init__(template, handler, name, build_only)
        self.regex = re.compile(template)

    def match(self, request):
        m = self.regex.fullmatch(routed_path(request))
        if m is None:
            return None
        return self, m.groups(), {}

    def __repr__(self):
        return '<SimpleRoute(%r, %r)>' % (self.template, self.handler)


# <name>, <name:regex> or <:regex> in a Route template.
_VARIABLE = re.compile(r'<([A-Za-z_]\w*)?(?::([^>]*))?>')
_DEFAULT_VARIABLE_REGEX = '[^/]+'


def parse_template(template, default_regex):
    """(pattern, variables, parts) of a template with <name>, <name:regex>
    and <:regex> variables (default_regex when a variable gives none).
    pattern: a regular expression with a named group per variable;
    variables: (name or None, group name, compiled regex), in order;
    parts: the literal text between them, with None in each variable's
    place."""
    variables, pattern, parts, last = [], [], [], 0
    for i, m in enumerate(_VARIABLE.finditer(template)):
        name, regex = m.group(1), m.group(2) or default_regex
        literal = template[last:m.start()]
        pattern.append(re.escape(literal))
        parts.append(literal)
        group = name or '__%d__' % i  # unnamed: a group name of our own
        pattern.append('(?P<%s>%s)' % (group, regex))
        variables.append((name, group, re.compile(regex)))
        parts.append(None)
        last = m.end()
    pattern.append(re.escape(template[last:]))
    parts.append(template[last:])
    return ''.join(pattern), variables, parts


def same_host_path(path):
    """path with one leading slash: '//host/...' is another host's URL to a
    browser, and a path built from the request or a route's variables must
    not redirect there."""
    return '/' + path.lstrip('/') if path.startswith('//') else path


class Route(BaseRoute):
    """A path template with variables, matched against the whole
    (URL-unquoted) path: '/blog/<year:\\d{4}>/<slug>'.
    <name> matches one path segment, <name:regex> what regex matches, and
    <:regex> an unnamed one. Named variables are the handler's keyword
    arguments (defaults fills those the path lacks), unnamed ones its
    positional arguments, in order (a handler gets those only when there
    are no keyword arguments).

    methods: the HTTP methods it takes (others get 405 unless a later
    route takes them); schemes: 'http' and/or 'https' it answers; name: for
    uri_for; build_only: only for building URLs; handler_method: the
    handler's method to call (also 'module.Handler:method')."""

    def __init__(self, template, handler=None, name=None, defaults=None, build_only=False,
                 handler_method=None, methods=None, schemes=None):
        super().__init__(template, handler, name, build_only)
        self.defaults = dict(defaults or {})
        if handler_method is not None:
            self.handler_method = handler_method
        self.methods = None if methods is None else [m.upper() for m in methods]
        self.schemes = schemes
        self._parse_template()

    def _parse_template(self):
        """Compiles self.template (again, for webapp2_extras.routes'
        prefixed copies)."""
        pattern, self.variables, self._parts = parse_template(self.template,
                                                              _DEFAULT_VARIABLE_REGEX)
        self.regex = re.compile(pattern)

    def match(self, request):
        if self.build_only:
            return None
        m = self.regex.fullmatch(routed_path(request))
        if m is None:
            return None
        if self.schemes and request.scheme not in self.schemes:
            return None
        if self.methods and request.method not in self.methods:
            raise _MethodNotTaken(self.methods)
        kwargs = dict(self.defaults)
        args = []
        for name, group, _ in self.variables:
            value = m.group(group)
            if name is None:
                args.append(value)
            else:
                kwargs[name] = value
        return self, tuple(args), kwargs

    def build(self, request, args, kwargs):
        """The URL for these variables: named ones from kwargs (else
        defaults), unnamed ones from args in order. Other kwargs not
        starting with '_' become the query string, sorted by name;
        _full=True makes it absolute, _scheme and _netloc set those parts
        (and make it absolute), _fragment adds '#...'. KeyError when a
        variable is missing (or None), ValueError when a value does not
        match its regex."""
        kwargs = dict(kwargs)
        full = kwargs.pop('_full', False)
        scheme = kwargs.pop('_scheme', None)
        netloc = kwargs.pop('_netloc', None)
        fragment = kwargs.pop('_fragment', None)
        args = list(args)
        path = []
        variables = iter(self.variables)
        for part in self._parts:
            if part is not None:
                # The template is the unquoted path routes match, so its
                # text is quoted as the variables' values are.
                path.append(urllib.parse.quote(part, safe='/'))
                continue
            name, _, regex = next(variables)
            if name is None:
                if not args:
                    raise KeyError('missing positional argument to build %r' % self.template)
                value = args.pop(0)
            else:
                value = kwargs.pop(name, self.defaults.get(name))
                if value is None:  # webapp2 took None as missing, not 'None'
                    raise KeyError('missing argument %r to build %r' % (name, self.template))
            value = str(value)
            if not regex.fullmatch(value):
                raise ValueError('%r does not match %r of %r'
                                 % (value, regex.pattern, self.template))
            path.append(urllib.parse.quote(value, safe='/'))
        # Sorted as webapp2 did: a URL that does not depend on the order of
        # the keywords (services signing their query need that).
        query = sorted((k, v) for k, v in kwargs.items() if not k.startswith('_'))
        uri = same_host_path(''.join(path))
        if query:
            uri += '?' + urllib.parse.urlencode(query, doseq=True)
        if fragment:
            uri += '#' + urllib.parse.quote(str(fragment), safe='/')
        if full or scheme or netloc:
            uri = urllib.parse.urlunsplit((scheme or request.scheme, netloc or request.host,
                                           '', '', '')) + uri
        return uri

    def __repr__(self):
        return '<Route(%r, %r, name=%r)>' % (self.template, self.handler, self.name)


class _MethodNotTaken(Exception):
    def __init__(self, methods):
        super().__init__(methods)
        self.methods = methods


def first_match(routes, request):
    """What the first of routes matching request returns, or None. When
    only routes not taking its method matched, raises _MethodNotTaken with
    the methods they take (none when they did not say)."""
    allowed = None
    for route in routes:
        try:
            found = route.match(request)
        except _MethodNotTaken as e:
            allowed = sorted(set(allowed or ()) | set(e.methods))
            continue
        except webob.exc.HTTPMethodNotAllowed:
            # How a route of the app's own says it; later ones may match.
            allowed = allowed or []
            continue
        if found is not None:
            return found
    if allowed is not None:
        raise _MethodNotTaken(allowed)
    return None


class Router:
    """The app's routes, in order: matches requests, builds URLs of named
    routes and calls handlers."""

    route_class = SimpleRoute

    def __init__(self, routes=None):
        self.match_routes = []
        self.build_routes = {}
        self._handlers = {}
        for route in routes or ():
            self.add(route)

    def add(self, route):
        """Adds a route, a (regex, handler) pair or a (regex, handler,
        name) triple."""
        if isinstance(route, (tuple, list)):
            route = self.route_class(*route)
        # Asked of the route, so that one may stand for several.
        self.match_routes.extend(route.get_match_routes())
        for name, r in route.get_build_routes():
            self.build_routes[name] = r

    # webapp2's hooks: an app replaces how its router matches, builds or
    # dispatches with func(router, ...), which may call the default_ one
    # (a dispatcher making responses of the strings handlers return, say).
    def set_matcher(self, func):
        """func(router, request) matches from now on."""
        self.match = func.__get__(self, type(self))

    def set_builder(self, func):
        """func(router, request, name, args, kwargs) builds URLs from now
        on."""
        self.build = func.__get__(self, type(self))

    def set_dispatcher(self, func):
        """func(router, request, response) dispatches from now on; what it
        returns is the response."""
        self.dispatch = func.__get__(self, type(self))

    def default_matcher(self, request):
        """(route, args, kwargs) of the first route matching request;
        404, or 405 when matching routes did not take its method."""
        try:
            found = first_match(self.match_routes, request)
        except _MethodNotTaken as e:
            if e.methods:
                abort(405, headers=[('Allow', ', '.join(e.methods))])
            abort(405)
        if found is None:
            abort(404)
        return found

    def default_builder(self, request, name, args, kwargs):
        route = self.build_routes.get(name)
        if route is None:
            raise KeyError('no route named %r' % (name,))
        return route.build(request, args, kwargs)

    def handler_of(self, route):
        """The route's handler, imported the first time when it is a
        string."""
        handler = route.handler
        if isinstance(handler, str):
            if handler not in self._handlers:
                self._handlers[handler] = import_string(handler)
            handler = self._handlers[handler]
        return handler

    def default_dispatcher(self, request, response):
        """Routes request (with self.match) and calls its handler; returns
        what the handler returned."""
        route, args, kwargs = self.match(request)
        request.route, request.route_args, request.route_kwargs = route, args, kwargs
        handler = self.handler_of(route)
        if isinstance(handler, type):
            if _is_webapp25_handler(handler):
                return _dispatch_webapp(handler, route, request, response)
            # As webapp2's: any class, a RequestHandler or not, is made
            # with (request, response) and its dispatch() answers.
            return handler(request, response).dispatch()
        args, kwargs = _handler_arguments(request)
        return handler(request, *args, **kwargs)

    match = default_matcher
    build = default_builder
    dispatch = default_dispatcher


def _is_webapp25_handler(handler):
    """Whether handler is a webapp 1.x RequestHandler class: one can be
    only once `runtime: python`'s webapp (webapp._webapp25) is imported."""
    webapp25 = sys.modules.get('google.appengine.ext.webapp._webapp25')
    return (webapp25 is not None and isinstance(handler, type)
            and issubclass(handler, webapp25.RequestHandler))


def _dispatch_webapp(handler_class, route, request, response):
    """A webapp 1.x RequestHandler class behind a webapp2 route: initialize,
    then the method, as webapp 1.x's own WSGIApplication calls it."""
    handler = handler_class()
    handler.initialize(request, response)
    name = getattr(route, 'handler_method', None) or _method_attr(request.method)
    method = getattr(handler, name, None)
    if method is None:
        abort(405)
    args, kwargs = _handler_arguments(request)
    try:
        method(*args, **kwargs)
    except Exception as e:
        handler.handle_exception(e, request.app.debug)


class Config(dict):
    """The application's configuration: a dict of dicts, one per module or
    extension that reads settings, named by its import path."""

    def load_config(self, key, default_values=None, user_values=None, required_keys=None):
        """The settings of key: default_values, updated with the app's
        config[key] and then user_values. KeyError when one of
        required_keys has no value."""
        values = dict(default_values or {})
        values.update(self.get(key) or {})
        values.update(user_values or {})
        for k in required_keys or ():
            if values.get(k) is None:
                raise KeyError('missing configuration key %r of %r' % (k, key))
        return values


class WSGIApplication:
    """A WSGI application dispatching requests through its Router."""

    # Methods handlers may answer; others get 501. Apps widened it with
    # allowed_methods = WSGIApplication.allowed_methods.union(('PATCH',)).
    allowed_methods = frozenset(('GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'))
    request_class = Request
    response_class = Response
    router_class = Router
    config_class = Config

    # This thread's app and request, also for code that names the class.
    app = active_instance = _ThreadGlobal('app')
    request = _ThreadGlobal('request')

    def __init__(self, routes=None, debug=False, config=None):
        self.debug = debug
        self.registry = {}
        self.error_handlers = {}
        # As webapp2 did: get_app() is this app from here on in this thread
        # (module code after creating it), until a request sets its own.
        self.set_globals(app=self)
        self.config = self.config_class(config or {})
        self.router = self.router_class(routes)

    def set_globals(self, app=None, request=None):
        """Makes app and request this thread's (get_app, get_request)."""
        _local.app = app
        _local.request = request

    def clear_globals(self):
        """This thread has no app or request any more."""
        self.set_globals(None, None)

    def __call__(self, environ, start_response):
        request = self.request_class(environ)
        response = self.response_class()
        request.app, request.response = self, response
        self.set_globals(self, request)
        try:
            response = self._respond(request, response)
            try:
                return response(environ, start_response)
            except Exception as e:
                # Say, a handler returned something that is no response.
                return self._internal_error(e)(environ, start_response)
        finally:
            self.clear_globals()

    def _respond(self, request, response):
        try:
            if request.method not in self.allowed_methods:
                # Raised here so that error_handlers[501] sees it.
                raise webob.exc.HTTPNotImplemented()
            returned = self.router.dispatch(request, response)
            return response if returned is None else returned
        except Exception as e:
            try:
                returned = self.handle_exception(request, response, e)
                return response if returned is None else returned
            except HTTPException as raised:
                return raised
            except Exception as raised:
                return self._internal_error(raised)

    def handle_exception(self, request, response, e):
        """Calls error_handlers[code] (code: e's status, 500 for an
        exception that is not HTTP) with (request, response, e); without
        one, raises e again."""
        code = e.code if isinstance(e, HTTPException) else 500
        handler = self.error_handlers.get(code)
        if handler is None:
            raise e
        if isinstance(handler, str):
            handler = self.error_handlers[code] = import_string(handler)
        response.status = code
        return handler(request, response, e)

    def _internal_error(self, e):
        logging.error('%s: %s', type(e).__name__, e, exc_info=e)
        response = webob.exc.HTTPInternalServerError()
        if self.debug:
            response = Response(status=500)
            response.write(_webapp_webob.traceback_html(e))
        return response

    def get_response(self, *args, **kwargs):
        """The response to Request.blank(*args, **kwargs): for tests."""
        return self.request_class.blank(*args, **kwargs).get_response(self)

    def run(self, bare=False):
        """Answers the CGI request of a script handler (webapp's
        run_wsgi_app; bare: without appengine_config's middleware)."""
        from google.appengine.ext.webapp import util
        (util.run_bare_wsgi_app if bare else util.run_wsgi_app)(self)
