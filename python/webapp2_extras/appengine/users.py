"""webapp2_extras.appengine.users: decorators for the methods of webapp2
handlers that need a signed-in user (google.appengine.api.users).

    class AdminPage(webapp2.RequestHandler):
        @users.admin_required
        def get(self):
            ...

A signed-out user is redirected to the sign-in page, which brings them
back to the request's URL with a GET: so they are for get() only, and
answer 400 to another method. admin_required answers 403 to a signed-in
user who is not an administrator of the app."""
import functools

from google.appengine.api import users


def _sign_in_first(handler, name):
    """The redirect to the sign-in page when no user is signed in, else
    None; 400 when the request is not a GET."""
    if handler.request.method != 'GET':
        handler.abort(400, detail='%s is only for GET requests' % name)
    if users.get_current_user() is None:
        return handler.redirect(users.create_login_url(handler.request.url))
    return None


def login_required(handler_method):
    """Calls handler_method only for a signed-in user."""
    @functools.wraps(handler_method)
    def check_login(self, *args, **kwargs):
        redirect = _sign_in_first(self, 'login_required')
        if redirect is not None:
            return redirect
        return handler_method(self, *args, **kwargs)
    return check_login


def admin_required(handler_method):
    """Calls handler_method only for a signed-in administrator."""
    @functools.wraps(handler_method)
    def check_admin(self, *args, **kwargs):
        redirect = _sign_in_first(self, 'admin_required')
        if redirect is not None:
            return redirect
        if not users.is_current_user_admin():
            self.abort(403)
        return handler_method(self, *args, **kwargs)
    return check_admin
