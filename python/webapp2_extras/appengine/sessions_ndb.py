"""Not available in gaelic: see webapp2_extras.appengine."""
from webapp2_extras.appengine import _unavailable

raise _unavailable(__name__)
