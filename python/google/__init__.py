"""The `google` namespace of the gaelic runtime.

Other distributions (protobuf, for one) also install packages under
`google`; extending __path__ lets them be found beside ours when their
folders are on sys.path. Done by hand: pkgutil.extend_path imports typing
and friends, which would add some 20 ms to every cold start.
"""
import os as _os
import sys as _sys

_entry = _dir = None
for _entry in _sys.path:
    if isinstance(_entry, str):
        _dir = _os.path.join(_entry, __name__)
        if _dir not in __path__ and _os.path.isdir(_dir):
            __path__.append(_dir)
del _os, _sys, _entry, _dir
