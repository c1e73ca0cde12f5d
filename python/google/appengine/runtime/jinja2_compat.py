"""Jinja2 2.x names for python27 apps on Debian's Jinja2 3.

App Engine's python27 runtime carried Jinja2 2.6; its tutorial made the
environment with extensions=['jinja2.ext.autoescape'], and apps' filters
used jinja2.Markup, jinja2.escape and the contextfilter decorators.
Jinja2 3.0 deprecated these and 3.1 removed them, so such an app failed
as it imported. They are put back, as 3.0 had them: the two extensions
do nothing (their tags are built in), the rest are the new names.
"""
from google.appengine.runtime import import_hooks

# Jinja2 2.x decorator name: the 3.x one it became.
_RENAMED = {
    "contextfilter": "pass_context",
    "contextfunction": "pass_context",
    "evalcontextfilter": "pass_eval_context",
    "evalcontextfunction": "pass_eval_context",
    "environmentfilter": "pass_environment",
    "environmentfunction": "pass_environment",
}


def _add_names(jinja2):
    for old, new in _RENAMED.items():
        if not hasattr(jinja2, old) and hasattr(jinja2, new):
            setattr(jinja2, old, getattr(jinja2, new))
    if not hasattr(jinja2, "Markup"):
        import markupsafe  # Jinja2's own dependency, here only when it is 3.1
        jinja2.Markup = markupsafe.Markup
        jinja2.escape = markupsafe.escape


def _add_extensions(ext):
    for name, cls_name in (("autoescape", "AutoEscapeExtension"), ("with_", "WithExtension")):
        if not hasattr(ext, name):
            cls = type(cls_name, (ext.Extension,), {"__module__": ext.__name__})
            setattr(ext, cls_name, cls)
            setattr(ext, name, cls)


def install():
    import_hooks.when_imported("jinja2", _add_names)
    import_hooks.when_imported("jinja2.ext", _add_extensions)
