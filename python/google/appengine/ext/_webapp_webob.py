"""The WebOb request and response of google.appengine.ext.webapp, both of
its implementations: webapp 1.x's (webapp._webapp25, the `runtime: python`
one) and webapp2's (python27's, which extends them).

Request and Response are WebOb's with webapp's additions (get, get_all,
arguments, get_range, uri, query; out, write, set_status,
http_status_message, clear, has_error, wsgi_write, wsgiref's header
methods), reading what Debian's WebOb refused (a path,
query or cookie that is not UTF-8, a form in another charset) as App
Engine's did.
"""
import cgi
import codecs
import html
import re
import traceback
import urllib.parse

import webob
import webob.compat
import webob.cookies
import webob.headers
import webob.multidict
import webob.util


def traceback_html(exception):
    """The exception's traceback as an HTML body: what debug mode shows in
    a 500 (webapp's and webapp2's)."""
    lines = traceback.format_exception(type(exception), exception, exception.__traceback__)
    return '<pre>%s</pre>' % html.escape(''.join(lines))


_NOT_ASCII = re.compile(r'[^\x00-\x7f]+')


def iri_to_uri(uri):
    """uri as a Location header may carry it, ASCII (RFC 3987): a host
    that is not ASCII IDNA-encoded, other characters that are not as UTF-8
    percent escapes. Python 2 apps redirected to UTF-8 byte strings, which
    went out as they were; the same text as a str is not latin-1 (a 500),
    or is, and is then sent in the wrong encoding."""
    if uri.isascii():
        return uri
    netloc = urllib.parse.urlsplit(uri).netloc
    if not netloc.isascii():
        userinfo, at, host = netloc.rpartition('@')
        try:
            host = host.encode('idna').decode('ascii')
        except UnicodeError:
            pass  # percent-escaped below, as the rest
        uri = uri.replace(netloc, userinfo + at + host, 1)
    return _NOT_ASCII.sub(lambda m: urllib.parse.quote(m.group(), safe=''), uri)


class _RequestCookies(webob.cookies.RequestCookies):
    """WebOb's request cookies, with what is not UTF-8 decoded to U+FFFD:
    WebOb's decoding raised, so one such cookie from the client (a quoted
    "\\377", or one a sibling site set on the parent domain) made every
    read of request.cookies, of any name, a 500."""

    @property
    def _cache(self):
        env = self._environ
        header = env.get('HTTP_COOKIE', '')
        cache, cache_header = env.get(self._cache_key, ({}, None))
        if cache_header != header:
            cache = {k.decode('utf-8', 'replace'): v.decode('utf-8', 'replace')
                     for k, v in webob.cookies.parse_cookie(header)}
            env[self._cache_key] = (cache, header)
        return cache


def _parse_query(query):
    """(name, value) pairs of a query string, split and unescaped as
    WebOb's are, decoded from UTF-8 with U+FFFD for what is not."""
    for pair in re.split(b'[&;]', query.encode('latin-1').replace(b'+', b' ')):
        if pair:
            name, _, value = pair.partition(b'=')
            yield (urllib.parse.unquote_to_bytes(name).decode('utf-8', 'replace'),
                   urllib.parse.unquote_to_bytes(value).decode('utf-8', 'replace'))


class Request(webob.Request):
    """A webob.Request with webapp's accessors for query and form
    arguments (str values, UTF-8 decoded)."""

    def encget(self, key, default=webob.request.NoDefault, encattr=None):
        # WebOb decodes SCRIPT_NAME and PATH_INFO strictly as UTF-8, so a
        # path with %FF made request.path, and routing, raise: a 500 for
        # any client's bad URL. Python 2's webapp routed the bytes; here
        # what is not UTF-8 becomes U+FFFD.
        try:
            return super().encget(key, default, encattr)
        except UnicodeDecodeError:
            raw = self.environ[key].encode('latin-1')
            return raw.decode(getattr(self, encattr), 'replace')

    @property
    def cookies(self):
        return _RequestCookies(self.environ)

    @cookies.setter
    def cookies(self, value):
        webob.Request.cookies.fset(self, value)

    @property
    def GET(self):
        """The query's arguments. WebOb decodes them strictly as UTF-8, so
        ?q=%FF raised in any read of the arguments (a 500), while a form
        body's undecodable bytes become U+FFFD: so do the query's here."""
        try:
            return super().GET
        except UnicodeDecodeError:
            source = self.environ.get('QUERY_STRING', '')
            query = webob.multidict.GetDict(_parse_query(source), self.environ)
            self.environ['webob._parsed_query_vars'] = (query, source)
            return query

    @property
    def POST(self):
        """The form body's arguments. WebOb refuses (DeprecationWarning, a
        500) a form whose Content-Type names a charset other than UTF-8,
        as Java's HTTP clients send them (charset=ISO-8859-1); the
        python27 runtime's WebOb read it: here it is read in that charset
        (UTF-8 when Python does not know it)."""
        try:
            return super().POST
        except DeprecationWarning:
            pass
        try:
            charset = codecs.lookup(self.charset).name
        except LookupError:
            charset = 'utf-8'
        self.make_body_seekable()
        self.body_file_raw.seek(0)
        fs_environ = dict(self.environ, QUERY_STRING='')
        fs_environ.setdefault('CONTENT_LENGTH', '0')
        fs = webob.compat.cgi_FieldStorage(fp=self.body_file, environ=fs_environ,
                                           keep_blank_values=True, encoding=charset,
                                           errors='replace')
        form = webob.multidict.MultiDict.from_fieldstorage(fs)
        self.environ['webob._parsed_post_vars'] = (form, self.body_file_raw)
        return form

    @property
    def uri(self):
        """The full URL of the request (webapp's name for webob's url)."""
        return self.url

    @property
    def query(self):
        """The part of the URL after the '?' (webapp's name for webob's
        query_string)."""
        return self.query_string

    def get_all(self, argument_name, default_value=None):
        """Every value of the argument, from the query string and a form
        body, in order; a file upload gives its content. With no value,
        default_value (None means [])."""
        values = [v.value if isinstance(v, cgi.FieldStorage) else v
                  for v in self.params.getall(argument_name)]
        if values:
            return values
        return [] if default_value is None else default_value

    def get(self, argument_name, default_value='', allow_multiple=False):
        """The first value of the argument, or default_value when it has
        none; with allow_multiple, the list of all of them (when it has
        none, default_value if one is given, else [])."""
        values = self.get_all(argument_name)
        if values:
            return values if allow_multiple else values[0]
        if allow_multiple and not default_value:
            return []
        return default_value

    def arguments(self):
        """The names of the arguments, each once, in order of appearance."""
        return list(dict.fromkeys(self.params.keys()))

    def get_range(self, name, min_value=None, max_value=None, default=0):
        """The argument as an int kept within [min_value, max_value];
        default when it is missing or not an integer."""
        try:
            value = int(self.get(name, default))
        except (TypeError, ValueError):
            value = default
        if value is None:
            return None
        if min_value is not None:
            value = max(value, min_value)
        if max_value is not None:
            value = min(value, max_value)
        return value


class ResponseHeaders(webob.headers.ResponseHeaders):
    """WebOb's response headers, with the methods of the wsgiref Headers
    that webapp's response.headers was (webapp2 kept them): get_all and
    add_header."""

    get_all = webob.headers.ResponseHeaders.getall

    def add_header(self, _name, _value, **_params):
        """Adds a header, beside those of that name: add_header(
        'Content-Disposition', 'attachment', filename='a.txt') gives
        'attachment; filename="a.txt"'; '_' in a parameter's name is '-',
        and a parameter of value None (or '') is its name alone."""
        parts = [] if _value is None else [_value]
        for name, value in _params.items():
            name = name.replace('_', '-')
            if value:
                value = value.replace('\\', '\\\\').replace('"', '\\"')
                parts.append('%s="%s"' % (name, value))
            else:
                parts.append(name)
        self.add(_name, '; '.join(parts))


class Response(webob.Response):
    """A webob.Response the handler writes its body to through .out."""

    # The default Content-Type is then 'text/html; charset=utf-8'.
    default_charset = 'utf-8'

    @property
    def headers(self):
        """The headers, a dict-like view of headerlist (ResponseHeaders)."""
        if self._headers is None:
            self._headers = ResponseHeaders.view_list(self._headerlist)
        return self._headers

    @headers.setter
    def headers(self, value):
        webob.Response.headers.fset(self, value)

    @property
    def out(self):
        """A writable stream (write, writelines, flush) appending to the
        body: bytes as they are, str encoded (see write)."""
        return self.body_file

    @property
    def body(self):
        return webob.Response.body.fget(self)

    @body.setter
    def body(self, value):
        """A str is encoded as write() encodes it: Python 2 apps set body
        to their str, which was bytes; WebOb 3 refuses a str."""
        if isinstance(value, str):
            value = value.encode(self.charset or 'utf-8')
        webob.Response.body.fset(self, value)

    @body.deleter
    def body(self):
        webob.Response.body.fdel(self)

    def write(self, text):
        """Appends text to the body. A str is encoded with the charset of
        the Content-Type, else UTF-8: Python 2's webapp took str as it was
        whatever the Content-Type said ('text/plain' with no charset, say),
        and so does this one, leaving the header as the app set it. What is
        neither str nor bytes is written as str(text), as the python27
        runtime's webapp (webapp2's) did: out.write(42). A bytearray is
        written as its bytes (WebOb takes bytes alone)."""
        if isinstance(text, bytearray):
            text = bytes(text)
        elif not isinstance(text, (str, bytes)):
            text = str(text)
        if isinstance(text, str):
            text = text.encode(self.charset or 'utf-8')
        super().write(text)

    @property
    def status_message(self):
        """The reason phrase of the status ('OK' of '200 OK'); set, it
        replaces the phrase and keeps the code, as webapp2's did."""
        return self.status.partition(' ')[2]

    @status_message.setter
    def status_message(self, message):
        self.status = '%d %s' % (self.status_int, message)

    @staticmethod
    def http_status_message(code):
        """The standard reason phrase of status code ('Not Found' of 404);
        KeyError for a code that has none."""
        message = webob.util.status_reasons.get(code)
        if message is None:
            raise KeyError('Invalid HTTP status code: %d' % code)
        return message

    def set_status(self, code, message=None):
        """Sets the status code, with message as its reason phrase (the
        standard one by default)."""
        if message is None:
            self.status_int = code
        else:
            self.status = '%d %s' % (code, message)

    def clear(self):
        """Empties the body (headers and status stay)."""
        self.body = b''

    def has_error(self):
        """Whether the status is an error (400 or above)."""
        return self.status_int >= 400

    def wsgi_write(self, start_response):
        """Sends status and headers through start_response and writes the
        body with the write callable it returns."""
        write = start_response(self.status, self.headerlist)
        write(self.body)
