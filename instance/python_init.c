#include "python_init.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include "app_hidden.h"
#include "audit_hook.h"
#include "gaelic_module.h"
#include "skip_files.h"

/* Debian's CPython 3.11 layout; the zip is only used when present. */
static const char *const stdlib_paths[] = {
    "/usr/lib/python311.zip",
    "/usr/lib/python3.11",
    "/usr/lib/python3.11/lib-dynload",
};

/* The runtime module the zygote imports; its prepare_zygote() installs the
 * process-wide hooks (os.environ, threading, stdout) before the fork. */
#define RUNTIME_MODULE "google.appengine.runtime.dispatch"

static int report(PyStatus st, const char *what)
{
    if (!PyStatus_Exception(st))
        return 0;
    fprintf(stderr, "gaelic zygote: %s: %s%s%s\n", what, st.func ? st.func : "",
            st.func ? ": " : "", st.err_msg ? st.err_msg : "failed");
    return -1;
}

static int append_path(PyObject *list, const char *path)
{
    PyObject *item = PyUnicode_DecodeFSDefault(path);
    int rc = item ? PyList_Append(list, item) : -1;
    Py_XDECREF(item);
    return rc;
}

/* sys.path: our python/ folder, then Debian's standard library. Set once
 * Python runs rather than in its configuration: CPython works out the
 * standard library's folder (sys._stdlib_dir) only when it works out the
 * path itself, and the modules frozen into it (os, codecs, io, ...) take
 * their __file__ from that folder, so that they had none. */
static int set_sys_path(const char *python_dir)
{
    PyObject *path = PyList_New(0);
    int rc = path ? append_path(path, python_dir) : -1;
    for (size_t i = 0; rc == 0 && i < sizeof stdlib_paths / sizeof *stdlib_paths; i++) {
        struct stat st;
        if (stat(stdlib_paths[i], &st) == 0)
            rc = append_path(path, stdlib_paths[i]);
    }
    if (rc == 0)
        rc = PySys_SetObject("path", path);
    Py_XDECREF(path);
    if (rc < 0) {
        fprintf(stderr, "gaelic zygote: cannot set sys.path:\n");
        PyErr_Print();
    }
    return rc;
}

/* CPython 3.11's _thread.interrupt_main() reads the SIGINT entry of the
 * signal module's table, which is empty (and crashed the instance) until
 * something imports _signal: import it now. SIGINT is ignored first, so
 * that the import installs no KeyboardInterrupt handler for the main
 * thread, whatever disposition the master was started with: an instance
 * is stopped over its channel, and interrupt_main() then does nothing, as
 * CPython documents for a SIGINT that Python does not handle. */
static int python_signal_table(void)
{
    PyObject *m = PyImport_ImportModule("_signal");
    if (!m) {
        fprintf(stderr, "gaelic zygote: cannot import _signal:\n");
        PyErr_Print();
        return -1;
    }
    Py_DECREF(m);
    return 0;
}

int python_init(const char *python_dir, int threads)
{
    /* Before Python runs any code, so app code can never remove it. */
    if (audit_hook_install() < 0) {
        fprintf(stderr, "gaelic zygote: cannot install the audit hook\n");
        return -1;
    }
    PyPreConfig pre;
    PyPreConfig_InitIsolatedConfig(&pre);
    /* UTF-8 for file names and stdio whatever locale the master gave us. */
    pre.utf8_mode = 1;
    if (report(Py_PreInitialize(&pre), "pre-initialise Python") < 0)
        return -1;

    if (gaelic_module_register(threads) < 0) {
        fprintf(stderr, "gaelic zygote: cannot register the _gaelic module\n");
        return -1;
    }

    signal(SIGINT, SIG_IGN); /* before _signal reads it: python_signal_table */
    PyConfig c;
    PyConfig_InitIsolatedConfig(&c);
    c.site_import = 0;
    c.user_site_directory = 0;
    c.write_bytecode = 0;
    c.install_signal_handlers = 0;
    c.parse_argv = 0;
    int rc = report(PyConfig_SetBytesString(&c, &c.program_name, "gaelic"), "program name");
    /* sys.prefix points at Debian's Python rather than at our binary. */
    if (rc == 0)
        rc = report(PyConfig_SetBytesString(&c, &c.home, "/usr"), "home");
    if (rc == 0)
        rc = report(Py_InitializeFromConfig(&c), "initialise Python");
    PyConfig_Clear(&c);
    if (rc == 0)
        rc = python_signal_table();
    return rc == 0 ? set_sys_path(python_dir) : rc;
}

/* module.method(), or module.method(arg) when arg is not NULL. */
static int call_method(const char *module, const char *method, const char *arg)
{
    PyObject *m = PyImport_ImportModule(module);
    if (!m)
        return -1;
    PyObject *r =
        arg ? PyObject_CallMethod(m, method, "s", arg) : PyObject_CallMethod(m, method, NULL);
    Py_DECREF(m);
    if (!r)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* Runs a runtime step, then moves every object so far to the collector's
 * permanent generation, so that collections in instances never touch (and
 * copy) the pages they share with the zygote. collect first: the cycles
 * left over until then would be kept for good. */
static int warm_step(const char *step, const char *arg, int collect)
{
    if (call_method(RUNTIME_MODULE, step, arg) < 0 ||
        (collect && call_method("gc", "collect", NULL) < 0) ||
        call_method("gc", "freeze", NULL) < 0) {
        fprintf(stderr, "gaelic zygote: cannot load the runtime (" RUNTIME_MODULE ".%s):\n", step);
        PyErr_Print();
        return -1;
    }
    return 0;
}

/* Calls module.func(arg). 0, or -1 after printing what failed and the
 * Python error. */
static int call_runtime(const char *module, const char *func, const char *arg, const char *what)
{
    if (call_method(module, func, arg) < 0) {
        fprintf(stderr, "gaelic zygote: %s:\n", what);
        PyErr_Print();
        return -1;
    }
    return 0;
}

int python_libraries(const char *modules)
{
    if (audit_hook_allow_libraries(modules) < 0) {
        fprintf(stderr, "gaelic zygote: out of memory for app.yaml libraries\n");
        return -1;
    }
    return call_runtime("google.appengine.runtime.libraries", "install", modules,
                        "cannot set up app.yaml libraries");
}

int python_skip_files(const char *skip_pattern, const char *static_pattern, const char *app_dir)
{
    if (!*skip_pattern && !*static_pattern)
        return 0;
    char err[256];
    if ((*skip_pattern && skip_files_set(skip_pattern, err, sizeof err) < 0) ||
        (*static_pattern && static_only_set(static_pattern, err, sizeof err) < 0)) {
        fprintf(stderr, "gaelic zygote: %s\n", err);
        return -1;
    }
    if (app_hidden_set_dir(app_dir) < 0) {
        fprintf(stderr, "gaelic zygote: cannot resolve the app folder %s\n", app_dir);
        return -1;
    }
    return call_runtime("google.appengine.runtime.skip_files", "install", app_dir,
                        "cannot apply skip_files to imports");
}

int python_warm(void)
{
    /* No full collection on the cold-start path (about 1 ms): the imports
     * leave next to no cycles, and the automatic collections ran meanwhile. */
    return warm_step("prepare_zygote", NULL, 0);
}

int python_preload(const char *app_dir)
{
    return warm_step("preload", app_dir, 1);
}

int python_app_changed(const char *app_dir)
{
    PyObject *m = PyImport_ImportModule(RUNTIME_MODULE);
    PyObject *r = m ? PyObject_CallMethod(m, "app_changed", "s", app_dir) : NULL;
    Py_XDECREF(m);
    int dropped = r ? PyObject_IsTrue(r) : -1;
    Py_XDECREF(r);
    if (dropped < 0) {
        fprintf(stderr, "gaelic zygote: cannot check the changed app for modules named as the "
                        "preloaded ones:\n");
        PyErr_Print();
    }
    return dropped;
}

#define BYTECODE_MODULE "google.appengine.runtime.bytecode"

int python_app_bytecode_write(const char *app_root)
{
    return call_runtime(BYTECODE_MODULE, "write", app_root, "writing the app's bytecode failed");
}
