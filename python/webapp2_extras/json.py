"""webapp2_extras.json: JSON helpers on the stdlib json module.

encode() writes compact JSON with '</' escaped as '<\\/', so that the
result may be put inside a <script> element; decode() reads str or UTF-8
bytes. b64encode/b64decode and quote/unquote wrap the JSON for cookies and
URLs."""
import base64
import json as _json
import urllib.parse


def encode(value, *args, **kwargs):
    """value as JSON text (extra arguments go to json.dumps)."""
    kwargs.setdefault('separators', (',', ':'))
    # '<\/' is the same JSON string, but cannot end a <script> element.
    return _json.dumps(value, *args, **kwargs).replace('</', '<\\/')


def decode(value, *args, **kwargs):
    """The value of JSON text (str or UTF-8 bytes; extra arguments go to
    json.loads)."""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode('utf-8')
    return _json.loads(value, *args, **kwargs)


def b64encode(value, *args, **kwargs):
    """encode(value) in base64, as str: Python 3 code puts it in cookies
    and URLs, which are str."""
    return base64.b64encode(encode(value, *args, **kwargs).encode('utf-8')).decode('ascii')


def b64decode(value, *args, **kwargs):
    """The value b64encode() encoded (str or bytes)."""
    return decode(base64.b64decode(value), *args, **kwargs)


def quote(value, *args, **kwargs):
    """encode(value), URL-quoted."""
    return urllib.parse.quote(encode(value, *args, **kwargs))


def unquote(value, *args, **kwargs):
    """The value quote() encoded."""
    return decode(urllib.parse.unquote(value), *args, **kwargs)
