"""webapp2_extras.jinja2: Jinja2 templates for webapp2 apps.

Needs Debian's Jinja2 (python3-jinja2), which an app gets as on App Engine,
with app.yaml `libraries: - name: jinja2`; without it importing this
module raises the runtime's ImportError naming that rule.

    def get(self):
        self.response.write(jinja2.get_jinja2(app=self.app).render_template(
            'page.html', title='Hi'))

Configuration, app.config['webapp2_extras.jinja2']: template_path (folder
or list of folders, relative to the app folder: 'templates'),
compiled_path (templates compiled with Jinja2's compile_templates, looked
up first, unless the app has debug=True), force_compiled (only those, also
with debug), environment_args (for jinja2.Environment: autoescape on by
default), globals and filters (dicts added to the environment). Templates
have uri_for."""
# This module is webapp2_extras.jinja2; absolute imports reach Jinja2 itself.
import jinja2

import webapp2

default_config = {
    'template_path': 'templates',
    'compiled_path': None,
    'force_compiled': False,
    'environment_args': {'autoescape': True},
    'globals': None,
    'filters': None,
}

class Jinja2:
    """A Jinja2 environment configured for app."""

    def __init__(self, app, config=None):
        self.config = config = app.config.load_config(
            'webapp2_extras.jinja2', default_values=default_config, user_values=config,
            required_keys=None)
        # The extensions apps listed for Jinja2 2.x that 3.1 removed are
        # put back by the runtime (runtime/jinja2_compat.py).
        kwargs = dict(config['environment_args'] or {})
        if 'loader' not in kwargs:
            kwargs['loader'] = self._loader(config, app.debug)
        self.environment = jinja2.Environment(**kwargs)
        self.environment.globals['uri_for'] = webapp2.uri_for
        self.environment.globals.update(config['globals'] or {})
        self.environment.filters.update(config['filters'] or {})

    @staticmethod
    def _loader(config, debug):
        loader = jinja2.FileSystemLoader(config['template_path'])
        # As webapp2: with debug (development) the template files, edited
        # there, and not compiled ones, unless force_compiled.
        if not config['compiled_path'] or (debug and not config['force_compiled']):
            return loader
        compiled = jinja2.ModuleLoader(config['compiled_path'])
        if config['force_compiled']:
            return compiled
        return jinja2.ChoiceLoader([compiled, loader])

    def render_template(self, _filename, **context):
        """The template _filename rendered with context, as str."""
        return self.environment.get_template(_filename).render(context)

    def get_template_attribute(self, filename, attribute):
        """A macro or variable the template filename defines."""
        template = self.environment.get_template(filename)
        return getattr(template.module, attribute)


def get_jinja2(factory=Jinja2, key='webapp2_extras.jinja2.Jinja2', app=None):
    """The Jinja2 of app (this thread's by default), made with factory(app)
    the first time and kept in app.registry."""
    app = app or webapp2.get_app()
    jinja = app.registry.get(key)
    if jinja is None:
        jinja = app.registry[key] = factory(app)
    return jinja


def set_jinja2(jinja2, key='webapp2_extras.jinja2.Jinja2', app=None):
    """Makes jinja2 what get_jinja2() returns for app."""
    app = app or webapp2.get_app()
    app.registry[key] = jinja2
