"""google.appengine.dist: use_library, with which apps of App Engine's
Python 2.5 runtime chose the Django they imported:

    from google.appengine.dist import use_library
    use_library('django', '1.2')

That runtime had Django 0.96, 1.0, 1.1 and 1.2 side by side; gaelic has
Debian's one Django (python3-django), which every such call leaves in use.
What App Engine refused is refused the same way: another package, or a
version it did not have, is a ValueError.
"""
import logging

__all__ = ["use_library", "UnacceptableVersionError"]

# The packages use_library knew, with the versions App Engine had of each.
_VERSIONS = {"django": ("0.96", "1.0", "1.1", "1.2")}
_noted = set()


class UnacceptableVersionError(Exception):
    """A version of a package other than the one in use was asked for (on
    App Engine; gaelic's single Django never raises it)."""


def use_library(name, version):
    """Asks for version of package name ('django')."""
    if name not in _VERSIONS:
        raise ValueError("%s is not a supported package" % name)
    if version not in _VERSIONS[name]:
        raise ValueError("%s is not a supported version for %s; supported versions are %s"
                         % (version, name, list(_VERSIONS[name])))
    if (name, version) not in _noted:
        _noted.add((name, version))
        logging.info("use_library(%r, %r): Debian's Django is used", name, version)
