"""google.appengine.ext.webapp: App Engine's webapp framework.

As in App Engine's SDK, this module is one of two implementations, chosen
when it is first imported by the request's APPENGINE_RUNTIME:

- python27 (and python3 apps, which have no such variable): webapp2. Here
  `from google.appengine.ext import webapp` and `import webapp2 as webapp`
  are the same thing: webapp.WSGIApplication is webapp2.WSGIApplication,
  and handlers have self.abort, self.app, redirect(abort=True), ...
- python (the 2.5 runtime): webapp 1.x (webapp._webapp25).

webapp.template and webapp.util serve both. appengine_config's
webapp_add_wsgi_middleware (the SDK's lib_config 'webapp' handle) wraps
WSGI handlers and webapp.util.run_wsgi_app (runtime.handlers).
"""
import os as _os

if _os.environ.get('APPENGINE_RUNTIME') == 'python':
    from google.appengine.ext.webapp import _webapp25 as _implementation
    __doc__ = _implementation.__doc__
    _names = _implementation.__all__
else:
    import webapp2 as _implementation
    # What `from webapp2 import *` takes (webapp2 has no __all__).
    _names = [n for n in vars(_implementation) if not n.startswith('_')]

globals().update((n, getattr(_implementation, n)) for n in _names)
