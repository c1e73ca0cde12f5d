"""webapp2_extras.securecookie: cookie values the client can read but not
forge.

A serialized value is 'base64(JSON)|timestamp|signature', webapp2's
format: the signature is the hex HMAC-SHA1, keyed by the secret key, of
'name|base64|timestamp', so a value signed for one cookie name does not
pass for another, and the timestamp lets deserialize() refuse old ones."""
import hmac
import logging
import time

from webapp2_extras import json, security


class SecureCookieSerializer:
    """Signs and checks cookie values with secret_key (str or bytes)."""

    def __init__(self, secret_key):
        if not secret_key:
            raise ValueError('SecureCookieSerializer needs a secret key')
        self.secret_key = secret_key.encode('utf-8') if isinstance(secret_key, str) \
            else bytes(secret_key)

    def serialize(self, name, value):
        """value (anything JSON takes) as a signed, timestamped string for
        the cookie name."""
        encoded = json.b64encode(value)
        timestamp = str(self._now())
        return '|'.join((encoded, timestamp, self._signature(name, encoded, timestamp)))

    def deserialize(self, name, value, max_age=None):
        """The value serialize() signed for the cookie name, or None when
        it is malformed, its signature is wrong or it is older than max_age
        seconds."""
        if isinstance(value, bytes):
            value = value.decode('latin-1')
        parts = (value or '').split('|')
        if len(parts) != 3:
            return None
        encoded, timestamp, signature = parts
        if not security.compare_hashes(signature, self._signature(name, encoded, timestamp)):
            logging.warning('Invalid signature of secure cookie %r', name)
            return None
        try:
            timestamp = int(timestamp)
        except ValueError:
            return None
        now = self._now()
        if max_age is not None and timestamp < now - max_age:
            logging.warning('Expired secure cookie %r', name)
            return None
        try:
            return json.b64decode(encoded)
        except ValueError:  # binascii.Error and JSONDecodeError are ValueErrors
            logging.warning('Undecodable secure cookie %r', name)
            return None

    def _signature(self, name, encoded, timestamp):
        message = '|'.join((name, encoded, timestamp)).encode('utf-8')
        return hmac.new(self.secret_key, message, 'sha1').hexdigest()

    def _now(self):
        # A method, so that tests may move the clock.
        return int(time.time())
