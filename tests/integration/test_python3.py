"""python3 apps (RT1: runtime python3 / python3NN) as App Engine's second
generation ran them: what their app.yaml holds and how their code reaches
the bundled services (the appengine-python-standard package's API)."""
import urllib.parse

from harness import write_app

WRAPPED_MAIN = """\
import json
import os

import google.appengine.api
from google.appengine.api import users, wrap_wsgi_app


def _app(environ, start_response):
    user = users.get_current_user()
    start_response('200 OK', [('Content-Type', 'application/json')])
    return [json.dumps({'path': os.environ['PATH_INFO'],
                        'user': user.email() if user else None}).encode()]


# As the package's README writes it for a plain WSGI app, and for Flask
# (app.wsgi_app = wrap_wsgi_app(app.wsgi_app)), with its keyword arguments.
app = google.appengine.api.wrap_wsgi_app(_app)
other = wrap_wsgi_app(_app, use_legacy_context_mode=False, use_deferred=True)
"""


def test_wrap_wsgi_app_serves_the_app_with_its_apis(serve, tmp_path):
    """`from google.appengine.api import wrap_wsgi_app` is how a python3 app
    with `app_engine_apis: true` reaches the bundled APIs; the wrapped app
    sees its request in os.environ and its signed-in user."""
    d = write_app(tmp_path / "wrapped", "runtime: python311\napp_engine_apis: true\n"
                  "handlers:\n- url: /other\n  script: main.other\n", {"main.py": WRAPPED_MAIN})
    s = serve(d)
    assert s.get_json("/some/path") == {"path": "/some/path", "user": None}
    login = s.get("/_ah/login?" + urllib.parse.urlencode(
        {"email": "ann@example.com", "action": "Login", "continue": "/"}), allow_redirects=False)
    assert login.status_code == 302, login
    assert s.get_json("/other", cookies=login.cookies) == {"path": "/other",
                                                           "user": "ann@example.com"}
