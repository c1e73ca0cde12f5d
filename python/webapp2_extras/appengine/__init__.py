"""webapp2_extras.appengine (memcache and datastore sessions, auth's user
models) needs App Engine's memcache and datastore services, which gaelic
does not provide."""
raise ImportError(
    "webapp2_extras.appengine is not available in gaelic: it needs App Engine's "
    "memcache and datastore services, which gaelic does not provide "
    "(webapp2_extras.sessions' default 'securecookie' backend works)",
    name=__name__)
