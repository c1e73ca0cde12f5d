#include "wsgi_environ.h"

#include <string.h>

#include "ipc.h"

static PyObject *bytesio_type;
static PyObject *key_https, *key_input, *key_url_scheme;
static PyObject *str_on, *str_https, *str_http;

int environ_init(void)
{
    PyObject *io = PyImport_ImportModule("io");
    if (!io)
        return -1;
    bytesio_type = PyObject_GetAttrString(io, "BytesIO");
    Py_DECREF(io);
    if (!bytesio_type)
        return -1;
    key_https = PyUnicode_InternFromString("HTTPS");
    key_input = PyUnicode_InternFromString("wsgi.input");
    key_url_scheme = PyUnicode_InternFromString("wsgi.url_scheme");
    str_on = PyUnicode_InternFromString("on");
    str_https = PyUnicode_InternFromString("https");
    str_http = PyUnicode_InternFromString("http");
    if (!key_https || !key_input || !key_url_scheme || !str_on || !str_https || !str_http)
        return -1;
    return 0;
}

/* Most variables repeat from request to request (their names always; values
 * such as SERVER_NAME, APPLICATION_ID or the client's User-Agent often), so
 * the str objects of the last ones seen are kept and reused: strings are
 * immutable, and a reused key also keeps its hash. This took building the
 * environ from about a fifth of an instance's CPU per hello request to
 * under a tenth. Only the GIL holder uses the cache; it is bounded (client
 * headers can name anything: what does not fit is decoded as before). */
#define VAR_CACHE_SLOTS 256 /* a power of 2 */
#define VAR_CACHE_PROBES 4
#define VAR_CACHE_MAX_VALUE 256

typedef struct {
    PyObject *key;   /* NULL: free */
    PyObject *value; /* the key's last value, or NULL */
} var_cache_slot_t;

static var_cache_slot_t var_cache[VAR_CACHE_SLOTS];

/* Whether str (a latin-1 decode: one byte per character) holds exactly p[0..n). */
static int same_latin1(PyObject *str, const char *p, uint32_t n)
{
    return (uint32_t)PyUnicode_GET_LENGTH(str) == n &&
           PyUnicode_KIND(str) == PyUnicode_1BYTE_KIND &&
           memcmp(PyUnicode_1BYTE_DATA(str), p, n) == 0;
}

/* Names share prefixes (HTTP_, SERVER_) but rarely a length, head and tail:
 * those 16 bytes are hash enough for a cache that tolerates collisions. */
static uint32_t name_hash(const char *p, uint32_t n)
{
    uint64_t head = 0, tail = 0;
    memcpy(&head, p, n < 8 ? n : 8);
    if (n > 8)
        memcpy(&tail, p + n - (n < 16 ? n - 8 : 8), n < 16 ? n - 8 : 8);
    uint64_t h = (head ^ (tail * 0x9e3779b97f4a7c15ull) ^ n) * 0xff51afd7ed558ccdull;
    return (uint32_t)(h >> 32);
}

/* The cache slot holding name, a free one to put it in, or NULL. */
static var_cache_slot_t *cache_slot(const char *k, uint32_t kn)
{
    uint32_t h = name_hash(k, kn);
    for (uint32_t i = 0; i < VAR_CACHE_PROBES; i++) {
        var_cache_slot_t *slot = &var_cache[(h + i) & (VAR_CACHE_SLOTS - 1)];
        if (!slot->key || same_latin1(slot->key, k, kn))
            return slot;
    }
    return NULL;
}

static PyObject *decode(const char *p, uint32_t n)
{
    return PyUnicode_DecodeLatin1(p, n, NULL);
}

/* Whether a variable carries bytes of the HTTP request: PEP 3333 has them
 * decoded as latin-1, one character per byte. */
static int from_http(const char *k, uint32_t kn)
{
    static const char *const names[] = {"PATH_INFO",   "QUERY_STRING", "REQUEST_URI",
                                        "SERVER_NAME", "CONTENT_TYPE", "SCRIPT_NAME"};
    if (kn > 5 && memcmp(k, "HTTP_", 5) == 0)
        return 1;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strlen(names[i]) == kn && memcmp(names[i], k, kn) == 0)
            return 1;
    return 0;
}

/* The rest (app.yaml's env_variables, the signed-in user's name) is UTF-8
 * text, as the app wrote it. Values are nearly always ASCII, where both
 * decodings agree: the key is looked at only for the others. */
static PyObject *decode_value(const char *k, uint32_t kn, const char *v, uint32_t vn)
{
    PyObject *s = decode(v, vn);
    if (!s || PyUnicode_IS_ASCII(s) || from_http(k, kn))
        return s;
    Py_DECREF(s);
    return PyUnicode_DecodeUTF8(v, vn, "surrogateescape");
}

/* New references to the key and value objects of one variable. */
static int variable(const char *k, uint32_t kn, const char *v, uint32_t vn, PyObject **key,
                    PyObject **val)
{
    var_cache_slot_t *slot = cache_slot(k, kn);
    if (!slot) {
        *key = decode(k, kn);
        *val = *key ? decode_value(k, kn, v, vn) : NULL;
        if (!*val)
            Py_CLEAR(*key);
        return *key ? 0 : -1;
    }
    if (!slot->key) {
        if (!(slot->key = decode(k, kn)))
            return -1;
        PyUnicode_InternInPlace(&slot->key);
    }
    if (slot->value && same_latin1(slot->value, v, vn)) {
        *val = Py_NewRef(slot->value);
    } else {
        if (!(*val = decode_value(k, kn, v, vn)))
            return -1;
        /* Kept only when its characters are its bytes (same_latin1), so
         * not a UTF-8 value beyond ASCII. */
        int keep = vn <= VAR_CACHE_MAX_VALUE && (PyUnicode_IS_ASCII(*val) || from_http(k, kn));
        Py_XSETREF(slot->value, keep ? Py_NewRef(*val) : NULL);
    }
    *key = Py_NewRef(slot->key);
    return 0;
}

static int add_variables(const gaelic_request_t *r, PyObject *cgi_env)
{
    ipc_reader_t rd;
    ipc_reader_init(&rd, r->env, r->env_len);
    for (uint32_t i = 0; i < r->n_env; i++) {
        const char *k, *v;
        uint32_t kn, vn;
        /* request_parse validated the layout; a failure here is a bug. */
        if (ipc_get_bytes(&rd, &k, &kn) < 0 || ipc_get_bytes(&rd, &v, &vn) < 0) {
            PyErr_SetString(PyExc_RuntimeError, "gaelic: request environ changed after parsing");
            return -1;
        }
        PyObject *key, *val;
        if (variable(k, kn, v, vn, &key, &val) < 0)
            return -1;
        int rc = PyDict_SetItem(cgi_env, key, val);
        Py_DECREF(key);
        Py_DECREF(val);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int add_input_and_scheme(const gaelic_request_t *r, PyObject *environ, PyObject *cgi_env)
{
    PyObject *body = PyBytes_FromStringAndSize(r->body, r->body_len);
    if (!body)
        return -1;
    /* BytesIO shares the bytes object until someone writes to it. */
    PyObject *input = PyObject_CallOneArg(bytesio_type, body);
    Py_DECREF(body);
    if (!input)
        return -1;
    int rc = PyDict_SetItem(environ, key_input, input);
    Py_DECREF(input);
    if (rc < 0)
        return -1;

    PyObject *https = PyDict_GetItemWithError(cgi_env, key_https); /* borrowed */
    if (!https && PyErr_Occurred())
        return -1;
    int on = 0;
    if (https) {
        on = PyObject_RichCompareBool(https, str_on, Py_EQ);
        if (on < 0)
            return -1;
    }
    return PyDict_SetItem(environ, key_url_scheme, on ? str_https : str_http);
}

int environ_build(const gaelic_request_t *r, PyObject *wsgi_defaults, PyObject **environ,
                  PyObject **cgi_env)
{
    /* The environ starts as a copy of the variables (a dict copies its
     * table whole, faster than inserting each again); both are sized for
     * everything the environ gets, so neither grows on the way. */
    Py_ssize_t n_defaults = wsgi_defaults ? PyDict_GET_SIZE(wsgi_defaults) : 0;
    PyObject *env = NULL;
    PyObject *cgi = _PyDict_NewPresized(r->n_env + n_defaults + 2);
    if (!cgi || add_variables(r, cgi) < 0 || !(env = PyDict_Copy(cgi)) ||
        (wsgi_defaults && PyDict_Update(env, wsgi_defaults) < 0) ||
        add_input_and_scheme(r, env, cgi) < 0)
        goto fail;
    *environ = env;
    *cgi_env = cgi;
    return 0;
fail:
    Py_XDECREF(env);
    Py_XDECREF(cgi);
    return -1;
}
