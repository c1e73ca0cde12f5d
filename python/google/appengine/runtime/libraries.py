"""app.yaml `libraries:` for gaelic instances.

Debian's dist-packages holds many packages; App Engine let apps import only
the third-party libraries app.yaml lists. The master resolves that list to
top-level module names (src/libraries.c) and the zygote calls install()
with them before any app code runs. A finder placed last on sys.meta_path
(so the app's own copies and the stdlib win) imports those modules from
dist-packages and refuses every other module found there with an
ImportError that names the `libraries:` rule.

The runtime's own modules may need a Debian package the app did not list:
google.appengine.ext.webapp is built on WebOb, and App Engine's python27
let apps use webapp without listing webob. import_for_runtime(name) imports
such a module past the gate. It is then in sys.modules, where every later
`import name` finds it before any finder is asked: an app that uses webapp
can import webob itself too. Nothing else in dist-packages opens up.
"""
import os
import sys

# importlib.machinery.PathFinder is this class; importing it from here
# spares every cold start importlib and warnings.
from _frozen_importlib_external import PathFinder

DIST_PACKAGES = "/usr/lib/python3/dist-packages"


class LibraryFinder:
    """Top-level imports from dist-packages: allowed names only."""

    def __init__(self, allowed, path=DIST_PACKAGES):
        self.allowed = frozenset(allowed)
        self.path = path
        # Names import_for_runtime let through (not app.yaml's doing).
        self.runtime_names = frozenset()

    def find_spec(self, fullname, path=None, target=None):
        if path is not None or "." in fullname:
            return None  # submodules: their package's __path__ finds them
        spec = PathFinder.find_spec(fullname, [self.path])
        if spec is None or fullname in self.allowed or fullname in self.runtime_names:
            return spec
        raise ImportError(
            "No module named %r: Debian's %s is importable only through "
            "app.yaml libraries: (list the library that provides it)"
            % (fullname, fullname), name=fullname)

    def invalidate_caches(self):
        pass


def install(modules):
    """modules: "a,b,c" (may be empty)."""
    allowed = [m for m in modules.split(",") if m]
    if not os.path.isdir(DIST_PACKAGES):
        return
    for f in sys.meta_path:
        if isinstance(f, LibraryFinder):
            sys.meta_path.remove(f)
    sys.meta_path.append(LibraryFinder(allowed))


def import_for_runtime(name):
    """Imports the top-level module name for the runtime's own use, from
    dist-packages if the app has no module of that name (as when app.yaml
    lists it), whatever `libraries:` says. Returns the module."""
    for f in sys.meta_path:
        if isinstance(f, LibraryFinder):
            # A new frozenset, not an update in place: find_spec may be
            # reading it in another thread.
            f.runtime_names = f.runtime_names | {name}
    __import__(name)
    return sys.modules[name]
