"""google.appengine.ext.webapp.util: login_required for handlers, and
serving a WSGI application from a CGI script, as App Engine's python25
apps did:

    def main():
        run_wsgi_app(application)

    if __name__ == '__main__':
        main()

The runtime's CGI handler (google.appengine.runtime.cgi) puts the request
in os.environ and sys.stdin and reads the response from sys.stdout; a
script that defines main() is executed once per instance and then only
main() runs, so each call here serves one request.
"""
import os
import sys

from google.appengine.api import users
from google.appengine.ext.webapp._webapp25 import Error
from google.appengine.runtime import handlers, wsgi


def login_required(handler_method):
    """Decorates a RequestHandler's get() (webapp 1.x's or webapp2's, whose
    route variables may be keyword arguments): a signed-out user is
    redirected to the sign-in page, which brings them back to this URL; a
    signed-in one gets the method. Only for GET (the sign-in page comes back
    with a GET): another method raises webapp 1.x's Error (a 500)."""
    def check_login(self, *args, **kwargs):
        if self.request.method != 'GET':
            raise Error('login_required can only be used for GET requests')
        if users.get_current_user() is None:
            self.redirect(users.create_login_url(self.request.uri))
            return
        handler_method(self, *args, **kwargs)
    return check_login


def run_wsgi_app(application):
    """Serves the current CGI request with application, wrapped in
    appengine_config's webapp_add_wsgi_middleware when the app has one
    (the same middleware WSGI handlers get)."""
    run_bare_wsgi_app(handlers.add_wsgi_middleware(application))


def run_bare_wsgi_app(application):
    """Serves the current CGI request with application as it is."""
    environ = dict(os.environ)  # the request's CGI variables
    environ.update({
        'wsgi.input': sys.stdin.buffer,
        'wsgi.errors': sys.stderr,
        'wsgi.version': (1, 0),
        'wsgi.multithread': False,
        'wsgi.multiprocess': True,
        # The instance serves more requests with the same script (main()).
        'wsgi.run_once': False,
        'wsgi.url_scheme': 'https' if environ.get('HTTPS', 'off').lower() in ('on', '1')
                           else 'http',
    })
    response = _CGIResponse(sys.stdout)
    result = application(environ, response.start_response)
    try:
        for data in result:
            if data:
                response.write(data)
        response.write(b'')  # the head, even for an empty body
    finally:
        if hasattr(result, 'close'):
            result.close()


class _CGIResponse:
    """start_response and write of PEP 3333 for one request, writing CGI
    output (a Status: header, the headers, a blank line, the body) to the
    binary buffer under the text stream stdout."""

    def __init__(self, stdout):
        stdout.flush()  # whatever the script printed before goes first
        self._out = stdout.buffer
        self._head = None  # (status, headers) once start_response is called
        self._head_sent = False

    def start_response(self, status, headers, exc_info=None):
        if exc_info is not None:
            try:
                if self._head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # no reference cycle through the frame
        elif self._head is not None:
            raise AssertionError('start_response called a second time without exc_info')
        # As a WSGI handler's are: a line break would start a header (or
        # the body) of its own in the CGI output.
        status = wsgi.with_reason(status)
        wsgi.check_status(status)
        wsgi.check_headers(headers)
        self._head = (status, headers)
        return self.write

    def write(self, data):
        if self._head is None:
            raise AssertionError('write() before start_response()')
        if not isinstance(data, bytes):
            raise TypeError('a WSGI body is bytes, not %s' % type(data).__name__)
        if not self._head_sent:
            status, headers = self._head
            wsgi.check_headers(headers)  # the app may have changed the list since
            lines = ['Status: %s' % status] + ['%s: %s' % h for h in headers]
            self._out.write(('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1'))
            self._head_sent = True
        self._out.write(data)
