"""app.yaml `libraries:` for gaelic instances.

Debian's dist-packages holds many packages; App Engine let apps import only
the third-party libraries app.yaml lists. The master resolves that list to
top-level module names (src/libraries.c) and the zygote calls install()
with them before any app code runs. A finder placed last on sys.meta_path
(so the app's own copies and the stdlib win) imports those modules from
dist-packages and refuses every other module found there with an
ImportError that names the `libraries:` rule.
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

    def find_spec(self, fullname, path=None, target=None):
        if path is not None or "." in fullname:
            return None  # submodules: their package's __path__ finds them
        spec = PathFinder.find_spec(fullname, [self.path])
        if spec is None or fullname in self.allowed:
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


def allow_for_runtime(modules):
    """Lets these dist-packages modules import although app.yaml does not
    list their library: App Engine's runtime carried its own copy of what
    its modules needed (webapp.template's Django), whatever app.yaml said.
    Once imported they are in sys.modules, for the app's code too. Pure
    Python only: the audit hook loads C extensions from dist-packages just
    for the libraries app.yaml lists (instance/audit_rules.c)."""
    for f in sys.meta_path:
        if isinstance(f, LibraryFinder):
            f.allowed = f.allowed | frozenset(modules)
