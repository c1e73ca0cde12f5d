"""PyYAML 3.x calls of python27 apps on Debian's PyYAML 6.

App Engine's python27 runtime carried PyYAML 3.10, whose yaml.load(stream)
and yaml.load_all(stream) needed no Loader: apps read their own settings
files so. PyYAML 6 made Loader a required argument, and that call raised
TypeError. It is optional again, defaulting to FullLoader as in PyYAML
5.1-5.4, which loads plain YAML as 3.10 did but builds no arbitrary Python
objects from tags. A PyYAML that already has a default (an app's own copy)
is left alone.
"""
from google.appengine.runtime import import_hooks


def _default_loader(load, full_loader):
    def with_default(stream, Loader=None):
        return load(stream, full_loader if Loader is None else Loader)

    with_default.__name__ = load.__name__
    with_default.__qualname__ = load.__qualname__
    with_default.__doc__ = load.__doc__
    with_default.__module__ = load.__module__
    return with_default


def _add_defaults(yaml):
    full_loader = getattr(yaml, "FullLoader", None)
    if full_loader is None:
        return
    for name in ("load", "load_all"):
        load = getattr(yaml, name, None)
        if load is not None and getattr(load, "__defaults__", ()) is None:
            setattr(yaml, name, _default_loader(load, full_loader))


def install():
    import_hooks.when_imported("yaml", _add_defaults)
