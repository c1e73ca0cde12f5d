"""webapp2_extras.security: random strings and salted password hashes.

Hashes are 'hexdigest$method$salt', the format webapp2 stored, so that
password hashes an app kept from the python27 runtime still check: with a
salt the digest is HMAC(key=salt, msg=password) with hashlib's method, else
the plain hash; a pepper adds HMAC(key=pepper, msg=that hexdigest)."""
import hashlib
import hmac
import math
import secrets
import string

LOWERCASE_ALPHA = string.ascii_lowercase
UPPERCASE_ALPHA = string.ascii_uppercase
LOWERCASE_ALPHANUMERIC = string.ascii_lowercase + string.digits
UPPERCASE_ALPHANUMERIC = string.ascii_uppercase + string.digits
ALPHA = string.ascii_letters
ALPHANUMERIC = string.ascii_letters + string.digits
DIGITS = string.digits
PUNCTUATION = string.punctuation
ASCII_PRINTABLE = string.ascii_letters + string.digits + string.punctuation
ALL_PRINTABLE = ASCII_PRINTABLE + ' '


def _bytes(value):
    return value.encode('utf-8') if isinstance(value, str) else bytes(value)


def generate_random_string(length=None, entropy=None, pool=ALPHANUMERIC):
    """A random string of characters of pool, from the system's secure
    random source: length characters, or as many as give entropy bits
    (ValueError when neither is given)."""
    pool = list(dict.fromkeys(pool))  # each character once: even odds
    if not pool:
        raise ValueError('pool is empty')
    if length is None:
        if not entropy:
            raise ValueError('give length or entropy')
        if len(pool) < 2:
            raise ValueError('a pool of one character has no entropy')
        length = int(math.ceil(entropy / math.log2(len(pool))))
    return ''.join(secrets.choice(pool) for _ in range(length))


def hash_password(password, method, salt=None, pepper=None):
    """The hex digest of password with hashlib's method ('sha1',
    'sha256', ...), HMAC-keyed by salt and then pepper when given;
    'plain' gives the password itself, an unknown method None."""
    if method == 'plain':
        return password
    if method not in hashlib.algorithms_available:
        return None
    if salt:
        digest = hmac.new(_bytes(salt), _bytes(password), method).hexdigest()
    else:
        digest = hashlib.new(method, _bytes(password)).hexdigest()
    if pepper:
        digest = hmac.new(_bytes(pepper), digest.encode('ascii'), method).hexdigest()
    return digest


def generate_password_hash(password, method='sha1', length=22, pepper=None):
    """'hexdigest$method$salt' for password, with a new random salt of
    length characters."""
    salt = generate_random_string(length) if method != 'plain' else ''
    digest = hash_password(password, method, salt, pepper)
    if digest is None:
        raise TypeError('no hash method %r' % (method,))
    return '%s$%s$%s' % (digest, method, salt)


def check_password_hash(password, pwhash, pepper=None):
    """Whether password is the one generate_password_hash made pwhash of."""
    if pwhash.count('$') < 2:
        return False
    digest, method, salt = pwhash.split('$', 2)
    computed = hash_password(password, method, salt, pepper)
    return computed is not None and compare_hashes(computed, digest)


def compare_hashes(a, b):
    """Whether a == b, in a time that does not tell where they differ."""
    return hmac.compare_digest(_bytes(a), _bytes(b))
