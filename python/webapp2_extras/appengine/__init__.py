"""webapp2_extras.appengine: what webapp2 had for App Engine's services.

users (login_required and admin_required for handler methods) works, on
gaelic's Users API. sessions_memcache, sessions_ndb and auth (memcache and
datastore sessions, auth's user models) need App Engine's memcache and
datastore services, which gaelic does not provide: importing them raises
ImportError saying so."""


def _unavailable(name):
    # Raised by the modules that need the missing services, naming them.
    return ImportError(
        "%s is not available in gaelic: it needs App Engine's memcache and "
        "datastore services, which gaelic does not provide "
        "(webapp2_extras.sessions' default 'securecookie' backend works)" % name,
        name=name)
