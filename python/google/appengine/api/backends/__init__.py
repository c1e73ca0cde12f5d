"""google.appengine.api.backends, a package as the SDK's was: apps import
it, or its `backends` module (`from google.appengine.api.backends import
backends`)."""
from google.appengine.api.backends.backends import *  # noqa: F401,F403
from google.appengine.api.backends.backends import __all__, configure  # noqa: F401
