#include "wsgi_environ.h"

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

/* Both dicts get the same key and value objects: one decode per string. */
static int add_variables(const gaelic_request_t *r, PyObject *environ, PyObject *cgi_env)
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
        PyObject *key = PyUnicode_DecodeLatin1(k, kn, NULL);
        if (!key)
            return -1;
        PyObject *val = PyUnicode_DecodeLatin1(v, vn, NULL);
        if (!val) {
            Py_DECREF(key);
            return -1;
        }
        int rc = PyDict_SetItem(cgi_env, key, val);
        if (rc == 0)
            rc = PyDict_SetItem(environ, key, val);
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
    PyObject *env = wsgi_defaults ? PyDict_Copy(wsgi_defaults) : PyDict_New();
    PyObject *cgi = PyDict_New();
    if (!env || !cgi)
        goto fail;
    if (add_variables(r, env, cgi) < 0 || add_input_and_scheme(r, env, cgi) < 0)
        goto fail;
    *environ = env;
    *cgi_env = cgi;
    return 0;
fail:
    Py_XDECREF(env);
    Py_XDECREF(cgi);
    return -1;
}
