"""app.yaml skip_files, and static files, for imports (RT1, RT5).

App Engine never uploaded the files skip_files matches, nor uploaded the
files of static handlers with the code unless `application_readable:
true`, so an app could not import them (and dev_appserver refused them
too): a module that imports one works here only if gaelic hides it the
same way. The static handlers already leave skipped files out
(src/static.c); this does it for imports and CGI scripts, and the audit
hook (instance/audit_hook.c) for open().

A path hook placed first on sys.path_hooks wraps the finder of every
sys.path (or package __path__) entry inside the app folder: a module whose
file is skipped is not found there, and the search goes on with the next
entry, as if the file were absent. A .zip archive that is skipped is not
searched at all (files inside an archive are not app files: only the
archive's own path counts). Entries outside the app folder (the runtime,
the standard library) are left to the usual hooks.

Folder listings (os.listdir and os.scandir, and so os.walk, glob and
pathlib) leave the hidden files out too: an app that lists a folder and
opens what it finds met a file it may not open, where App Engine had no
such file to list.

The regexes are matched in C (_gaelic.why_hidden) with PCRE2, as the
master matches them; `re` stays off the cold start.
"""
import os
import sys

import _gaelic
from google.appengine.runtime import import_hooks

_root = None  # the app folder once install() ran; until then nothing is skipped
# Module name -> (the hidden file a search passed over, why), so that the
# error says why the module is missing (the app's developer sees it work in a
# plain Python).
_hidden = {}


_WHY = {
    "skip_files": "excluded by app.yaml skip_files",
    "static": ("a static file (app.yaml's static handlers serve it; "
               "application_readable: true makes it the app's too)"),
}


def why_hidden(relpath):
    """Why relpath ('/'-separated, relative to the app folder) is not one
    of the app's code files, or None when it is."""
    if _root is None:
        return None
    why = _gaelic.why_hidden(os.fsencode(relpath))
    return _WHY[why] if why else None


def _relpath(path):
    """path relative to the app folder, or None when outside it."""
    path = os.path.abspath(path)
    if path == _root:
        return ""
    if not path.startswith(_root + os.sep):
        return None
    return path[len(_root) + 1:].replace(os.sep, "/")


class _Nothing:
    """The finder of a skipped archive: finds no module."""

    def find_spec(self, fullname, target=None):
        return None

    def invalidate_caches(self):
        pass


class _Filter:
    """A path entry finder that hides the modules whose files are skipped."""

    def __init__(self, finder):
        self._finder = finder

    def _find(self, fullname, target=None):
        """(spec or None, (the hidden file it would have come from, why)
        or None)."""
        spec = self._finder.find_spec(fullname, target)
        if spec is not None and spec.has_location and spec.origin:
            rel = _relpath(spec.origin)
            why = why_hidden(rel) if rel is not None else None
            if why:
                return None, (rel, why)
        return spec, None

    def find_spec(self, fullname, target=None):
        spec, hidden = self._find(fullname, target)
        if hidden is not None:
            _hidden[fullname] = hidden
        return spec

    def iter_modules(self, prefix=""):
        """For pkgutil.iter_modules (Django finds its commands with it):
        pkgutil knows FileFinder, not this wrapper, so it asks here; the
        skipped modules are left out."""
        import pkgutil  # only for apps that list modules
        for name, ispkg in pkgutil.iter_importer_modules(self._finder, prefix):
            # Not find_spec: a name listed here is no import, and its
            # package is unknown without a prefix, so no hint is kept.
            if self._find(name[len(prefix):])[0] is not None:
                yield name, ispkg

    def invalidate_caches(self):
        invalidate = getattr(self._finder, "invalidate_caches", None)
        if invalidate is not None:
            invalidate()

    def __getattr__(self, name):
        return getattr(self._finder, name)


class _Hint:
    """Last on sys.meta_path: reached only when no finder found the module;
    if a skipped file was passed over, the error names it."""

    def find_spec(self, fullname, path=None, target=None):
        hidden = _hidden.get(fullname)
        if hidden is None:
            return None
        # Only an import fails with the reason. A probe (importlib.util.
        # find_spec, pkgutil.find_loader: Django's module_has_submodule)
        # gets None, as for a file that is absent.
        if sys._getframe(2).f_code.co_name != "_find_and_load_unlocked":
            return None
        raise ModuleNotFoundError("No module named %r: %s is %s" % ((fullname,) + hidden),
                                  name=fullname)

    def invalidate_caches(self):
        pass


def _listed_folder(path):
    """The folder os.listdir or os.scandir lists, relative to the app folder
    ('' for the app folder itself), or None when it is outside it or path
    is a descriptor."""
    if isinstance(path, int):
        return None
    real = os.path.realpath(os.fsdecode("." if path is None else path))
    if real == _root:
        return ""
    if not real.startswith(_root + os.sep):
        return None
    return real[len(_root) + 1:].replace(os.sep, "/")


def _listed(folder, name):
    """Whether name (str or bytes), listed in folder (_listed_folder), is
    one of the app's files."""
    name = os.fsdecode(name)
    return not why_hidden(folder + "/" + name if folder else name)


class _ScandirFilter:
    """os.scandir's iterator without the app's hidden files."""

    def __init__(self, entries, folder):
        self._entries, self._folder = entries, folder

    def __iter__(self):
        return self

    def __next__(self):
        while True:
            entry = next(self._entries)
            if _listed(self._folder, entry.name):
                return entry

    def close(self):
        self._entries.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._entries.close()


def _hide_from_listings():
    listdir, scandir = os.listdir, os.scandir

    def filtered_listdir(path=None):
        names = listdir(path)
        folder = _listed_folder(path)
        if folder is None:
            return names
        return [name for name in names if _listed(folder, name)]

    def filtered_scandir(path=None):
        entries = scandir(path)
        folder = _listed_folder(path)
        return entries if folder is None else _ScandirFilter(entries, folder)

    for wrapper, original in ((filtered_listdir, listdir), (filtered_scandir, scandir)):
        wrapper.__name__ = original.__name__
        wrapper.__doc__ = original.__doc__
        wrapper.__wrapped__ = original
    os.listdir, os.scandir = filtered_listdir, filtered_scandir


def _pkg_resources_finds_in_app(pkg_resources):
    """pkg_resources picks how to find the distributions and the namespace
    package parts of a sys.path entry by the class of the entry's finder,
    and knew no _Filter: it found nothing in the app's folders, so a
    library installed into lib/ with its metadata (vendor.add('lib')) was
    no distribution (get_distribution raised DistributionNotFound, which
    libraries that read their own version at import turn into a failed
    import) and declare_namespace added no part from there. A _Filter
    wraps a FileFinder: it takes FileFinder's ways. The working set was
    built as pkg_resources was imported, before this: the distributions
    of the app's entries are added to it now."""
    pkg_resources.register_finder(_Filter, pkg_resources.find_on_path)
    pkg_resources.register_namespace_handler(_Filter, pkg_resources.file_ns_handler)
    working_set = pkg_resources.working_set
    for entry in list(working_set.entries):
        if _relpath(entry or os.getcwd()) is not None:
            for dist in pkg_resources.find_distributions(entry, True):
                working_set.add(dist, entry, False)


def _hook(entry):
    rel = _relpath(entry or os.getcwd())
    if rel is None:
        raise ImportError("not in the app folder")  # the next hooks handle it
    finder = None
    for hook in sys.path_hooks:
        if hook is _hook:
            continue
        try:
            finder = hook(entry)
            break
        except ImportError:
            continue
    if finder is None:
        raise ImportError("no finder for %r" % entry)
    archive = getattr(finder, "archive", None)  # a zipimporter
    if archive is not None:
        rel = _relpath(archive)
        return _Nothing() if rel is not None and why_hidden(rel) else finder
    return _Filter(finder)


def install(root):
    """root: the app folder (absolute). The zygote has given _gaelic the
    skip_files regex."""
    global _root
    if _root is None:
        _hide_from_listings()
        import_hooks.when_imported("pkg_resources", _pkg_resources_finds_in_app)
    _root = os.path.realpath(root)
    if _hook not in sys.path_hooks:
        sys.path_hooks.insert(0, _hook)
    if not any(isinstance(f, _Hint) for f in sys.meta_path):
        sys.meta_path.append(_Hint())
    for entry in list(sys.path_importer_cache):
        if _relpath(entry or os.getcwd()) is not None:
            del sys.path_importer_cache[entry]
