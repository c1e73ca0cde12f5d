"""google.appengine.ext.webapp.template: Django templates for webapp apps.

    from google.appengine.ext.webapp import template
    self.response.out.write(template.render(path, {'greeting': greeting}))

App Engine's python27 runtime rendered these with a copy of Django it
carried for this module, whatever app.yaml's `libraries:` said; gaelic uses
Debian's python3-django (3.2) the same way, so templates written for
App Engine's Django 1.2 ({% extends %}, {% include %}, {% ifequal %},
filters, autoescaping) render as they did.

A template's {% extends %} and {% include %} names are looked up in the
folder of the template given to render() or load(). Each folder gets its own
Django Engine (cached templates unless debug), so concurrent requests never
swap settings under each other as App Engine's version did.
"""
import logging
import os
import threading

from google.appengine.runtime import libraries as _libraries

# Debian's Django and the modules it imports (src/libraries.c lists the same
# for `libraries: - name: django`).
_libraries.allow_for_runtime(("django", "asgiref", "sqlparse", "pytz"))

import django  # noqa: E402
import django.conf  # noqa: E402


def _configure_django():
    """Django's settings: the app's own when DJANGO_SETTINGS_MODULE names
    them (App Engine's webapp loaded those too, and configured Django
    itself only when they did not import), else the runtime's."""
    settings = django.conf.settings
    if settings.configured:
        return
    if os.environ.get(django.conf.ENVIRONMENT_VARIABLE):
        try:
            settings.INSTALLED_APPS  # loads the settings module
            return
        except ImportError as e:
            logging.warning("webapp.template: Django settings %r do not import (%s): "
                            "using the runtime's", os.environ[django.conf.ENVIRONMENT_VARIABLE], e)
    settings.configure(
        DEBUG=False,
        # App Engine's instances ran in UTC; Django's default is Chicago.
        TIME_ZONE="UTC",
        # The app's logging stays as the runtime set it up.
        LOGGING_CONFIG=None,
        # Template and Context below use the default engine.
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
    )


_configure_django()
# Translations (the date filter's month names) need the app registry.
django.setup()

import django.core.exceptions  # noqa: E402
import django.template  # noqa: E402
from django.template.library import import_library  # noqa: E402

Context = django.template.Context


class Template(django.template.Template):
    """Django's Template, of Django's default engine, or of the runtime's
    own when the app's settings configure none (a settings module written
    for Django 1.x has TEMPLATE_DIRS, not TEMPLATES)."""

    def __init__(self, template_string, origin=None, name=None, engine=None):
        if engine is None:
            engine = (_default_engine() or [_engine(None, False)])[0]
        super().__init__(template_string, origin, name, engine)

_lock = threading.Lock()
_engines = {}  # (folder, debug) -> django.template.Engine
_builtins = []  # module names given to register_template_library, in order


def _engine(folder, debug):
    key = (folder, bool(debug))
    engine = _engines.get(key)
    if engine is None:
        with _lock:
            engine = _engines.get(key)
            if engine is None:
                engine = django.template.Engine(dirs=[folder] if folder else [], debug=bool(debug),
                                                builtins=list(_builtins))
                _engines[key] = engine
    return engine


def load(path, debug=False):
    """The template in file path (relative to the app's folder, or
    absolute); render it with a Context. Without debug, the file is read
    once per instance."""
    folder, name = os.path.split(os.path.abspath(path))
    return _engine(folder, debug).get_template(name)


def render(template_path, template_dict, debug=False):
    """The text of the template in template_path rendered with the values
    in template_dict."""
    return load(template_path, debug).render(Context(template_dict))


def create_template_register():
    """A Library for a module's custom filters and tags: the module sets
    `register = template.create_template_register()`, decorates them with
    @register.filter / @register.simple_tag, and the app calls
    register_template_library('that.module') before rendering."""
    return django.template.Library()


def register_template_library(package_name):
    """Makes the filters and tags of module package_name (its `register`)
    usable in every template, without {% load %}."""
    with _lock:
        if package_name in _builtins:
            return
        library = import_library(package_name)
        _builtins.append(package_name)
        for engine in list(_engines.values()) + _default_engine():
            engine.template_builtins.append(library)


def _default_engine():
    """Template's engine, as a list: none when the app configured Django
    itself without a Django templates backend."""
    try:
        return [django.template.Engine.get_default()]
    except django.core.exceptions.ImproperlyConfigured:
        return []
