"""django.utils.simplejson for the apps of App Engine's Django.

Python 2.5 had no json module: App Engine's apps read and wrote JSON with
the simplejson that Django bundled (`from django.utils import simplejson`),
the 2.5 runtime's Django 0.96 and the Django 1.x versions python27 apps
listed. Django 1.7 removed it, so such an app failed as it imported. The
standard json module, which simplejson became, takes its place.
"""
import sys

from google.appengine.runtime import import_hooks


def _add_simplejson(utils):
    if hasattr(utils, "simplejson"):
        return
    import json
    utils.simplejson = json
    sys.modules.setdefault(utils.__name__ + ".simplejson", json)


def install():
    import_hooks.when_imported("django.utils", _add_simplejson)
