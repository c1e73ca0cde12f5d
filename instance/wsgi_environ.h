/* Builds the per-request Python objects from a received request: the WSGI
 * environ dict and the plain CGI/App Engine variables that os.environ shows
 * inside the request (RT8). Keys and values are "native strings" (PEP 3333):
 * str decoded as latin-1, so every byte the master sent round-trips. Needs
 * the GIL. */
#ifndef GAELIC_WSGI_ENVIRON_H
#define GAELIC_WSGI_ENVIRON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "request.h"

/* Caches what environ_build needs (io.BytesIO, interned keys). Returns 0, or
 * -1 with a Python exception set. */
int environ_init(void);

/* Returns 0 with new references in *environ (wsgi_defaults, the request's
 * variables, wsgi.input and wsgi.url_scheme) and *cgi_env (the request's
 * variables only), or -1 with a Python exception set. wsgi_defaults holds the
 * per-process wsgi.* constants (wsgi.version, wsgi.errors, ...). */
int environ_build(const gaelic_request_t *r, PyObject *wsgi_defaults, PyObject **environ,
                  PyObject **cgi_env);

#endif
