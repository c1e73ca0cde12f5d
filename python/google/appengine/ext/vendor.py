"""google.appengine.ext.vendor: third-party libraries installed into a folder
of the app (`pip install -t lib`), added to sys.path from appengine_config.py
with vendor.add('lib'), as App Engine's python27 SDK did.
"""
import os
import site
import sys

# Where a virtualenv keeps its packages.
PYTHON_VERSION = "python%d.%d" % sys.version_info[:2]


def add(path, index=1):
    """Inserts the site folder path (or a virtualenv's site-packages under
    it) into sys.path at index, with what its .pth files add; a relative
    path is taken from the app folder (the current one in an instance).
    Raises ValueError when there is no such folder."""
    venv_path = os.path.join(path, "lib", PYTHON_VERSION, "site-packages")
    if os.path.isdir(venv_path):
        site_dir = venv_path
    elif os.path.isdir(path):
        site_dir = path
    else:
        raise ValueError("virtualenv: cannot access %s: No such virtualenv or site directory"
                         % path)
    # site.addsitedir appends the folder and what its .pth files name, and
    # runs their import lines, which may import any module (a namespace
    # package's nspkg.pth imports importlib.util; a failing line, traceback):
    # sys.path stays whole meanwhile, and what was added then moves to index.
    before = set(sys.path)
    try:
        site.addsitedir(site_dir)
    finally:
        added = [p for p in sys.path if p not in before]
        for p in added:
            sys.path.remove(p)
        sys.path[index:index] = added
