"""webapp2_extras.sessions: per-user data kept across requests.

A handler gets the request's SessionStore with get_store(), its sessions
with store.get_session(name=None), dicts that remember whether they
changed, and must call store.save_sessions(response) when done (typically
in dispatch(), around RequestHandler.dispatch). The default backend,
'securecookie', keeps each session in a signed cookie (readable by the
client, not forgeable). Configuration, app.config['webapp2_extras.sessions']:
secret_key (required), cookie_name ('session'), session_max_age (seconds,
None: no limit), cookie_args (for response.set_cookie) and backends.

The 'memcache' and 'datastore' backends of App Engine are not available:
gaelic has no memcache or datastore service."""
import webapp2

from webapp2_extras import securecookie

# Marks an argument not given, where None is a value (max_age=None: no
# limit).
DEFAULT_VALUE = object()

default_config = {
    'secret_key': None,
    'cookie_name': 'session',
    'session_max_age': None,
    'cookie_args': {
        'max_age': None,
        'domain': None,
        'path': '/',
        'secure': None,
        'httponly': False,
    },
    'backends': {
        'securecookie': 'webapp2_extras.sessions.SecureCookieSessionFactory',
        # Where webapp2 had them; see _UNAVAILABLE.
        'datastore': 'webapp2_extras.appengine.sessions_ndb.DatastoreSessionFactory',
        'memcache': 'webapp2_extras.appengine.sessions_memcache.MemcacheSessionFactory',
    },
}

_UNAVAILABLE = {
    'datastore': 'the App Engine datastore',
    'memcache': 'App Engine memcache',
}


class SessionDict(dict):
    """A session: a dict whose modified says it changed since it was
    loaded, and new that it was not loaded from the client."""

    def __init__(self, container, data=None, new=False):
        self.container = container
        self.new = new
        self.modified = False
        dict.update(self, data or ())

    # Each way of changing the dict marks it modified, to be saved.
    def __setitem__(self, key, value):
        self.modified = True
        dict.__setitem__(self, key, value)

    def __delitem__(self, key):
        self.modified = True
        dict.__delitem__(self, key)

    def clear(self):
        self.modified = True
        dict.clear(self)

    def pop(self, key, *default):
        if key in self:  # popping what is not there changes nothing
            self.modified = True
        return dict.pop(self, key, *default)

    def popitem(self):
        self.modified = True
        return dict.popitem(self)

    def update(self, *args, **kwargs):
        self.modified = True
        dict.update(self, *args, **kwargs)

    def setdefault(self, key, default=None):
        self.modified = True
        return dict.setdefault(self, key, default)

    def get_flashes(self, key='_flash'):
        """The flash messages added under key, as [message, level] pairs,
        removed from the session: each shows once."""
        return self.pop(key, [])

    def add_flash(self, value, level=None, key='_flash'):
        """Adds a message (anything JSON takes) with level for the next
        get_flashes."""
        self.setdefault(key, []).append([value, level])


class BaseSessionFactory:
    """Loads and saves one named session for a SessionStore."""

    session_class = SessionDict
    session = None

    def __init__(self, name, session_store):
        self.name = name
        self.session_store = session_store
        # The cookie's set_cookie arguments, for this session alone.
        self.session_args = dict(session_store.config['cookie_args'])

    def get_session(self, max_age=DEFAULT_VALUE):
        raise NotImplementedError

    def save_session(self, response):
        raise NotImplementedError


class SecureCookieSessionFactory(BaseSessionFactory):
    """A session kept whole in a signed cookie named after it."""

    def get_session(self, max_age=DEFAULT_VALUE):
        if self.session is None:
            data = self.session_store.get_secure_cookie(self.name, max_age=max_age)
            if data is not None and not isinstance(data, dict):
                data = None  # signed by us, but not a session
            self.session = self.session_class(self, data=data, new=data is None)
        return self.session

    def save_session(self, response):
        if self.session is None or not self.session.modified:
            return
        self.session_store.save_secure_cookie(
            response, self.name, dict(self.session), **self.session_args)


class SessionStore:
    """The sessions of one request, and the secure cookies it sets."""

    def __init__(self, request, config=None):
        self.request = request
        self.config = request.app.config.load_config(
            'webapp2_extras.sessions', default_values=default_config,
            user_values=config, required_keys=('secret_key',))
        # Factories by session name.
        self.sessions = {}

    @webapp2.cached_property
    def serializer(self):
        return securecookie.SecureCookieSerializer(self.config['secret_key'])

    def get_backend(self, name):
        """The session factory class of backend name."""
        factory = self.config['backends'].get(name)
        if name in _UNAVAILABLE and factory in (None, default_config['backends'][name]):
            # Unless the app configured a factory of its own for the name.
            raise NotImplementedError(
                "webapp2_extras.sessions backend %r needs %s, which gaelic does "
                "not provide; use the default backend, 'securecookie'"
                % (name, _UNAVAILABLE[name]))
        if factory is None:
            raise KeyError('no sessions backend %r' % (name,))
        if isinstance(factory, str):
            factory = webapp2.import_string(factory)
        return factory

    def get_session(self, name=None, max_age=DEFAULT_VALUE, factory=None,
                    backend='securecookie'):
        """The session name (the configured cookie_name by default), loaded
        the first time it is asked for; factory (a class) overrides
        backend."""
        if name is None:
            name = self.config['cookie_name']
        if max_age is DEFAULT_VALUE:
            max_age = self.config['session_max_age']
        container = self.sessions.get(name)
        if container is None:
            if factory is None:
                factory = self.get_backend(backend)
            container = self.sessions[name] = factory(name, self)
        return container.get_session(max_age=max_age)

    def get_secure_cookie(self, name, max_age=DEFAULT_VALUE):
        """The value of the request's signed cookie name, None when it is
        absent, forged or too old."""
        if max_age is DEFAULT_VALUE:
            max_age = self.config['session_max_age']
        value = self.request.cookies.get(name)
        if value is None:
            return None
        return self.serializer.deserialize(name, value, max_age=max_age)

    def set_secure_cookie(self, name, value, **kwargs):
        """Sets the signed cookie name to value when save_sessions runs: it
        is the securecookie session of that name (get_session(name) sees
        it, one Set-Cookie goes out), value added to what the request's
        cookie held, and kwargs override the configured cookie_args."""
        if not isinstance(value, dict):
            raise TypeError('a secure cookie value must be a dict')
        container = self.sessions.get(name)
        if container is None:
            container = self.sessions[name] = SecureCookieSessionFactory(name, self)
        container.get_session().update(value)
        container.session_args.update(kwargs)

    def save_secure_cookie(self, response, name, value, **kwargs):
        """Sets the signed cookie name to value on response now."""
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        response.set_cookie(name, self.serializer.serialize(name, value), **kwargs)

    def save_sessions(self, response):
        """Saves the sessions that changed (and the secure cookies set) on
        response."""
        for container in self.sessions.values():
            container.save_session(response)


def get_store(factory=SessionStore, key='webapp2_extras.sessions.SessionStore',
              request=None):
    """The SessionStore of request (this thread's by default), made the
    first time and kept in request.registry."""
    request = request or webapp2.get_request()
    store = request.registry.get(key)
    if store is None:
        store = request.registry[key] = factory(request)
    return store


def set_store(store, key='webapp2_extras.sessions.SessionStore', request=None):
    """Makes store the SessionStore get_store() returns for request."""
    request = request or webapp2.get_request()
    request.registry[key] = store
