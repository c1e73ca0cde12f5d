"""The `google` namespace of the gaelic runtime.

Other distributions (protobuf, google-auth, google-cloud-*) also install
packages under `google`, today without a google/__init__.py of their own
(PEP 420 namespace parts): their folders are found beside ours on every
sys.path entry, as a namespace package of a plain Python 3 finds them.
The entries are looked at again whenever sys.path has changed, since the
app adds its own (vendor.add('lib') in appengine_config, sys.path.insert)
only once this package is long imported. Done by hand: pkgutil.extend_path
imports typing and friends, which would add some 20 ms to every cold start.
"""
import os as _os
import sys as _sys


class _Path(list):
    """This package's __path__: our folder, then the google/ folder of each
    sys.path entry that has one, in sys.path order as they were found.
    Still a list, which code appending to a package's __path__ (a
    namespace package's nspkg.pth, the runtime) expects; the import system
    only iterates it, and that is when sys.path is looked at again."""

    __slots__ = ("_seen",)

    def __init__(self, folders):
        super().__init__(folders)
        self._seen = None  # sys.path as last looked at

    def _extend(self):
        entries = tuple(_sys.path)
        if entries == self._seen:
            return
        self._seen = entries
        for entry in entries:
            if isinstance(entry, str):
                folder = _os.path.join(entry, __name__)
                if folder not in self and _os.path.isdir(folder):
                    self.append(folder)

    def __iter__(self):
        self._extend()
        return super().__iter__()


__path__ = _Path(__path__)
__path__._extend()
