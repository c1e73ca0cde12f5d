"""webapp2_extras.routes: route classes for webapp2's Router.

RedirectRoute is a Route that can redirect (redirect_to, redirect_to_name)
and answer the path with the other trailing slash by a redirect
(strict_slash). PathPrefixRoute, NamePrefixRoute and HandlerPrefixRoute
stand for copies of the routes they group, with a common prefix added to
their templates, names or handler strings; DomainRoute matches its routes
only for requests whose Host matches its template, whose variables (one
host label each by default) become keyword arguments of the handler.

They plug into the Router as any route does: it asks each route added for
get_match_routes() and get_build_routes()."""
import copy
import re

import webapp2


class RedirectRoute(webapp2.Route):
    """A webapp2.Route, and also:

    redirect_to: a URL, or a function (handler, *args, **kwargs)
    returning one: the route redirects there (301) instead of calling a
    handler. redirect_to_name: redirects to the URL of the route of that
    name, built with this route's variables. strict_slash: the same path
    with the trailing slash added (or removed, when the template ends with
    one) redirects (301) to the template's own form, with the query."""

    def __init__(self, template, handler=None, name=None, defaults=None,
                 build_only=False, handler_method=None, methods=None,
                 schemes=None, redirect_to=None, redirect_to_name=None,
                 strict_slash=False):
        defaults = dict(defaults or {})
        if redirect_to is not None or redirect_to_name is not None:
            handler = webapp2.RedirectHandler
            if redirect_to_name is not None:
                def redirect_to(handler, *args, **kwargs):
                    return handler.uri_for(redirect_to_name, *args, **kwargs)
            defaults['_uri'] = redirect_to
        super().__init__(template, handler, name, defaults, build_only,
                         handler_method, methods, schemes)
        self.redirect_to = redirect_to
        self.redirect_to_name = redirect_to_name
        self.strict_slash = strict_slash

    def get_routes(self):
        yield self
        if not self.strict_slash or self.build_only or self.template == '/':
            return
        # A nameless twin: uri_for(name) builds the template's own form.
        slashed = self.template.endswith('/')
        twin = webapp2.Route(
            self.template[:-1] if slashed else self.template + '/',
            webapp2.RedirectHandler, methods=self.methods, schemes=self.schemes,
            defaults={'_uri': _add_slash if slashed else _strip_slash})
        yield twin


def _with_query(handler, path):
    # '//evil.example' behind '/<path:.*>/' must not redirect there.
    path = webapp2.same_host_path(path)
    query = handler.request.query_string
    return path + '?' + query if query else path


def _add_slash(handler, *args, **kwargs):
    return _with_query(handler, handler.request.path + '/')


def _strip_slash(handler, *args, **kwargs):
    return _with_query(handler, handler.request.path[:-1])


class MultiRoute:
    """A route standing for the routes it groups."""

    def __init__(self, routes):
        self.routes = routes
        self._children = None

    def get_children(self):
        """The routes this one stands for, made once (so that the Router's
        match and build lists hold the same route objects)."""
        if self._children is None:
            self._children = [self._child(r) for route in map(_route, self.routes)
                              for r in route.get_routes()]
        return self._children

    def _child(self, route):
        """The route this one stands for in place of route."""
        return route

    def get_routes(self):
        return iter(self.get_children())

    def get_match_routes(self):
        for route in self.get_children():
            yield from route.get_match_routes()

    def get_build_routes(self):
        for route in self.get_children():
            yield from route.get_build_routes()


class NamePrefixRoute(MultiRoute):
    """Its routes, with prefix before the names of those that have one:
    NamePrefixRoute('user-', [Route('/u/<id>', H, 'show')]) is named
    'user-show'."""

    def __init__(self, prefix, routes):
        super().__init__(routes)
        self.prefix = prefix

    def _child(self, route):
        if not route.name:
            return route
        route = copy.copy(route)
        route.name = self.prefix + route.name
        return route


class HandlerPrefixRoute(NamePrefixRoute):
    """Its routes, with prefix before their handlers given as strings:
    HandlerPrefixRoute('app.handlers.', [Route('/', 'Home')]) imports
    'app.handlers.Home'."""

    def _child(self, route):
        if not isinstance(route.handler, str):
            return route
        route = copy.copy(route)
        route.handler = self.prefix + route.handler
        return route


class PathPrefixRoute(NamePrefixRoute):
    """Its routes, with prefix (which may have variables, as a template)
    before their templates: PathPrefixRoute('/users/<user>',
    [Route('/profile', H)]) matches '/users/ann/profile'. The prefix
    starts with '/' and does not end with one."""

    def __init__(self, prefix, routes):
        if not prefix.startswith('/') or prefix.endswith('/'):
            raise ValueError('path prefix %r must start with "/" and not end with it' % prefix)
        super().__init__(prefix, routes)

    def _child(self, route):
        template = self.prefix + route.template
        if isinstance(route, webapp2.Route):
            route = copy.copy(route)
            route.template = template
            route._parse_template()
            return route
        if isinstance(route, webapp2.SimpleRoute) and '<' not in self.prefix:
            # A regular expression after the literal prefix.
            route = copy.copy(route)
            route.template = re.escape(self.prefix) + route.template.lstrip('^')
            route.regex = re.compile(route.template)
            return route
        raise TypeError('PathPrefixRoute(%r) cannot prefix %r: give it webapp2.Route '
                        'templates' % (self.prefix, route))


class DomainRoute(MultiRoute):
    """Its routes, for requests whose host matches template:
    DomainRoute('<subdomain>.example.com', [...]). Variables are written as
    in a Route template and match one host label ([^.]+) unless given a
    regex; named ones are the handler's keyword arguments, beside the
    route's own. The host is matched with its port, then without it. To
    build a URL on a host give uri_for _netloc (as in webapp2)."""

    def __init__(self, template, routes):
        super().__init__(routes)
        self.template = template
        pattern, self.variables, _ = webapp2.parse_template(template, r'[^.]+')
        self.regex = re.compile(pattern, re.IGNORECASE)
        self._match_children = None

    def get_match_routes(self):
        # Matched as one: the host first, then its routes.
        yield self

    def match(self, request):
        host = request.host
        m = self.regex.fullmatch(host) or self.regex.fullmatch(host.rpartition(':')[0]
                                                                if ':' in host else host)
        if m is None:
            return None
        if self._match_children is None:
            self._match_children = [r for route in self.get_children()
                                    for r in route.get_match_routes()]
        found = webapp2.first_match(self._match_children, request)
        if found is None:
            return None
        route, args, kwargs = found
        host_kwargs = {name: m.group(group) for name, group, _ in self.variables if name}
        return route, args, dict(host_kwargs, **kwargs)

    def build(self, request, args, kwargs):
        raise NotImplementedError('DomainRoute builds no URLs: its routes do')


def _route(route):
    # (regex, handler) pairs, as the Router takes them.
    if isinstance(route, (tuple, list)):
        return webapp2.Router.route_class(*route)
    return route
