#include "audit_hook.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "audit_rules.h"

/* Written once, before the instance starts any thread that runs Python. */
static int armed;

/* Borrowed item i of the event's arguments as a C string, or NULL. */
static const char *arg_str(PyObject *args, Py_ssize_t i)
{
    PyObject *o = PyTuple_GET_SIZE(args) > i ? PyTuple_GET_ITEM(args, i) : NULL;
    const char *s = o && PyUnicode_Check(o) ? PyUnicode_AsUTF8(o) : NULL;
    if (!s)
        PyErr_Clear();
    return s;
}

static long arg_long(PyObject *args, Py_ssize_t i, long dflt)
{
    PyObject *o = PyTuple_GET_SIZE(args) > i ? PyTuple_GET_ITEM(args, i) : NULL;
    if (!o || !PyLong_Check(o))
        return dflt;
    long v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return dflt;
    }
    return v;
}

static int refuse(audit_rule_t rule, const char *event, PyObject *subject)
{
    if (subject)
        PyErr_Format(PyExc_PermissionError, "%s: %s %R", audit_rule_message(rule), event, subject);
    else
        PyErr_Format(PyExc_PermissionError, "%s: %s", audit_rule_message(rule), event);
    return -1;
}

/* "import" carries (module, filename, ...); filename is set only when a C
 * extension is about to be loaded, before dlopen runs its constructors. */
static int check_import(PyObject *args)
{
    const char *module = arg_str(args, 0);
    const char *file = arg_str(args, 1);
    if (!module)
        return 0;
    char real[PATH_MAX];
    if (file && !realpath(file, real))
        real[0] = '\0'; /* refused below: not under a trusted directory */
    const char *why = audit_import_refused(module, file ? real : NULL);
    if (!why)
        return 0;
    PyObject *name = PyUnicode_FromString(module);
    if (name) {
        PyObject *msg = PyUnicode_FromFormat("%s: %s", why, module);
        if (msg)
            PyErr_SetImportError(msg, name, NULL);
        Py_XDECREF(msg);
        Py_DECREF(name);
    }
    return -1;
}

static int hook(const char *event, PyObject *args, void *data)
{
    (void)data;
    if (!armed)
        return 0;
    audit_rule_t rule = audit_rule_for(event);
    PyObject *first = PyTuple_GET_SIZE(args) > 0 ? PyTuple_GET_ITEM(args, 0) : NULL;
    switch (rule) {
    case AUDIT_ALLOW:
        return 0;
    case AUDIT_OPEN:
        /* An int is an already open descriptor: nothing new is opened. */
        if (first && PyLong_Check(first))
            return 0;
        if (!audit_open_writes(arg_str(args, 1), arg_long(args, 2, 0)))
            return 0;
        return refuse(rule, "open for writing", first);
    case AUDIT_KILL:
        if (arg_long(args, 0, 0) == (long)getpid())
            return 0;
        return refuse(rule, event, first);
    case AUDIT_IMPORT:
        return check_import(args);
    case AUDIT_FS_WRITE:
        return refuse(rule, event, first);
    case AUDIT_SOCKET:
    case AUDIT_PROCESS:
    case AUDIT_CTYPES:
        return refuse(rule, event, NULL);
    }
    return 0;
}

int audit_hook_install(void)
{
    return PySys_AddAuditHook(hook, NULL);
}

void audit_hook_arm(void)
{
    armed = 1;
}
