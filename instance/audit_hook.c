#include "audit_hook.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_hidden.h"
#include "audit_rules.h"
#include "sqlite_guard.h"

/* Written once, before the instance starts any thread that runs Python. */
static int armed;
/* The trees and files Landlock lets the instance read, resolved; none when
 * Landlock is not there to refuse the rest. */
static char **read_roots;
static size_t n_read_roots;
/* The top-level modules of the libraries app.yaml lists, "a,b,c"; NULL
 * for none. */
static char *library_modules;

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

/* The extension's file as CPython hands it to dlopen: the event's path
 * encoded to file-system bytes (a lone surrogate is a byte of a name that
 * is no UTF-8), read up to a NUL as dlopen reads it. A new reference, or
 * NULL when no extension is loaded (None) or CPython cannot encode it. */
static PyObject *extension_file(PyObject *args)
{
    PyObject *o = PyTuple_GET_SIZE(args) > 1 ? PyTuple_GET_ITEM(args, 1) : NULL;
    if (!o || !PyUnicode_Check(o))
        return NULL;
    PyObject *bytes = PyUnicode_EncodeFSDefault(o);
    if (!bytes)
        PyErr_Clear();
    return bytes;
}

/* Why the import event's module name cannot be checked, or NULL: the
 * rules read it as UTF-8 up to a NUL, while CPython names an extension's
 * init function after the part past the name's last dot, whatever comes
 * before: "x\0._ctypes" was "x" here and loaded _ctypes, and a lone
 * surrogate ("\udc80._ctypes") made the name unreadable, which let the
 * library be mapped (its constructors run) unchecked. */
static const char *module_name_unreadable(PyObject *name, const char *module)
{
    if (!module)
        return "sandbox rule SB5: a module name must be text UTF-8 can encode";
    Py_ssize_t size = PyUnicode_GET_LENGTH(name);
    if (PyUnicode_FindChar(name, '\0', 0, size, 1) >= 0)
        return "sandbox rule SB5: a module name cannot hold a NUL character";
    return NULL;
}

/* "import" carries (module, filename, ...); filename is set only when a C
 * extension is about to be loaded, before dlopen runs its constructors. */
static int check_import(PyObject *args)
{
    PyObject *name = PyTuple_GET_SIZE(args) > 0 ? PyTuple_GET_ITEM(args, 0) : NULL;
    if (!name || !PyUnicode_Check(name))
        return 0; /* CPython loads nothing without a str name */
    const char *module = arg_str(args, 0);
    const char *why = module_name_unreadable(name, module);
    if (!why) {
        PyObject *file = extension_file(args);
        char real[PATH_MAX];
        if (file && !realpath(PyBytes_AS_STRING(file), real))
            real[0] = '\0'; /* refused below: not under a trusted directory */
        why = audit_import_refused(module, file ? real : NULL, library_modules);
        Py_XDECREF(file);
    }
    if (!why)
        return 0;
    PyObject *msg = module ? PyUnicode_FromFormat("%s: %s", why, module)
                           : PyUnicode_FromFormat("%s: %R", why, name);
    if (msg)
        PyErr_SetImportError(msg, name, NULL);
    Py_XDECREF(msg);
    return -1;
}

/* Lexically inside a root, with no "." or ".." to climb out: no need to
 * resolve it. A symlink in there pointing out is left to the kernel. */
static int plainly_within(const char *path)
{
    return app_hidden_plain_path(path) &&
           audit_path_within(path, (const char *const *)read_roots, n_read_roots);
}

/* Resolves path, or when it does not exist its longest existing prefix:
 * the instance's own file tree holds only what it may read, so a missing
 * path is refused or not by the folder it would be in. Returns real. */
static char *resolve_existing(const char *path, char real[PATH_MAX])
{
    char prefix[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof prefix)
        return NULL;
    memcpy(prefix, path, len + 1);
    while (!realpath(prefix, real)) {
        if (errno != ENOENT && errno != ENOTDIR)
            return NULL;
        char *slash = strrchr(prefix, '/');
        if (!slash || !strcmp(prefix, "/"))
            return NULL;
        slash[slash == prefix] = '\0'; /* "/x" becomes "/" */
    }
    return real;
}

/* o, an event's path argument, as file-system bytes (a new reference), or
 * NULL when it is none (a descriptor, None, not a path, an embedded NUL):
 * whatever opens it then says what is wrong. */
static PyObject *path_bytes(PyObject *o)
{
    if (!o || PyLong_Check(o) || o == Py_None)
        return NULL;
    PyObject *p = PyOS_FSPath(o);
    PyObject *bytes = p && PyUnicode_Check(p) ? PyUnicode_EncodeFSDefault(p) : Py_XNewRef(p);
    Py_XDECREF(p);
    if (bytes && (!PyBytes_Check(bytes) ||
                  strlen(PyBytes_AS_STRING(bytes)) != (size_t)PyBytes_GET_SIZE(bytes)))
        Py_CLEAR(bytes);
    if (PyErr_Occurred())
        PyErr_Clear();
    return bytes;
}

/* 1 when path has a ".." part. */
static int climbs(const char *path)
{
    size_t len = strlen(path);
    return !strcmp(path, "..") || !strncmp(path, "../", 3) || strstr(path, "/../") ||
           (len >= 3 && !strcmp(path + len - 3, "/.."));
}

/* 1 when path, one an event opens or lists, resolves outside what the
 * instance may read (SB1). A relative path is taken from the working
 * folder, the app's root for good (os.chdir is refused): no descriptor of
 * a folder opens for dir_fd (check_folder). Without a ".." part it stays
 * in the app folder but for symlinks, which are left to the kernel. */
static int reads_outside(const char *path)
{
    char real[PATH_MAX];
    return n_read_roots && path && *path &&
           (path[0] == '/' ? !plainly_within(path) : climbs(path)) &&
           resolve_existing(path, real) &&
           !audit_path_within(real, (const char *const *)read_roots, n_read_roots);
}

/* As App Engine refused such a file: IOError (PermissionError) with EACCES
 * and the file name. */
static int refuse_hidden(const char *why, PyObject *path)
{
    PyObject *exc = PyObject_CallFunction(PyExc_PermissionError, "isO", EACCES, why, path);
    if (exc) {
        PyErr_SetObject(PyExc_PermissionError, exc);
        Py_DECREF(exc);
    }
    return -1;
}

/* The checks of a path an event reads, named by o in the messages: SB1's,
 * then the app's hidden files (only for opens). */
static int check_read_path(audit_rule_t rule, const char *event, const char *path, PyObject *o,
                           int is_open)
{
    const char *why;
    if (reads_outside(path))
        return refuse(rule, event, o);
    if (is_open && (why = app_hidden_reason(path)))
        return refuse_hidden(why, o);
    return 0;
}

static int check_read(audit_rule_t rule, const char *event, PyObject *o, int is_open)
{
    PyObject *bytes = path_bytes(o);
    int rc = check_read_path(rule, event, bytes ? PyBytes_AS_STRING(bytes) : NULL, o, is_open);
    Py_XDECREF(bytes);
    return rc;
}

/* os.open of a folder (audit_opens_folder), o its path argument; the
 * builtin open() (a mode) pays no stat. No other descriptor the app has
 * names a folder either: the instance holds none once armed, builtin
 * open() refuses folders, and os.scandir keeps its own. The app cannot
 * change its files, so what stat finds here is what open would. */
static int check_folder(PyObject *o, const char *mode, long flags)
{
    if (mode)
        return 0;
    PyObject *bytes = path_bytes(o);
    struct stat st;
    int is_dir = bytes && stat(PyBytes_AS_STRING(bytes), &st) == 0 && S_ISDIR(st.st_mode);
    Py_XDECREF(bytes);
    return audit_opens_folder(mode, flags, is_dir) ? refuse(AUDIT_DIR_FD, "os.open", o) : 0;
}

/* sqlite3.connect(database): SQLite creates a missing file (refused here:
 * it is a write) and opens one it may not write read-only (a read, checked
 * as open's). ":memory:" and "" (a private temporary database) are no
 * file. A "file:" URI (uri=True; the event does not say, and without it
 * such a name is rarely a real file) is checked by the file it names, as
 * a read only: its mode=ro may open a missing file without creating it,
 * and what would create one meets the read-only kernel layers. Every
 * route SQLite takes to a hidden file meets sqlite_guard.h anyway: here
 * the app learns why, as from open(). */
static int check_database(PyObject *o)
{
    PyObject *bytes = path_bytes(o);
    const char *path = bytes ? PyBytes_AS_STRING(bytes) : NULL;
    int rc = 0;
    struct stat st;
    char file[PATH_MAX];
    if (path && !strncmp(path, "file:", 5)) {
        if (audit_sqlite_uri_file(path, file, sizeof file))
            rc = check_read_path(AUDIT_READ, "sqlite3.connect", file, o, 1);
    } else if (path && *path && strcmp(path, ":memory:")) {
        if (stat(path, &st) < 0 && errno == ENOENT)
            rc = refuse(AUDIT_DATABASE, "sqlite3.connect", o);
        else
            rc = check_read(AUDIT_READ, "sqlite3.connect", o, 1);
    }
    Py_XDECREF(bytes);
    return rc;
}

/* os.chdir to the working folder itself changes nothing: an app's
 * os.chdir(os.path.dirname(__file__)) from the app root still runs.
 * (os.fchdir needs a folder's descriptor, which the app cannot open.) */
static int chdir_stays(PyObject *o)
{
    struct stat here, there;
    PyObject *bytes = path_bytes(o);
    int same = bytes && stat(".", &here) == 0 && stat(PyBytes_AS_STRING(bytes), &there) == 0 &&
               there.st_dev == here.st_dev && there.st_ino == here.st_ino;
    Py_XDECREF(bytes);
    return same;
}

/* SQLite's VFSes are wrapped (sqlite_guard.h) before _sqlite3 loads, and
 * any registered since then before each connection, armed or not: the
 * guard is a layer of its own. An import of an extension whose last name
 * is _sqlite3 ("x._sqlite3" loads _sqlite3 too) is refused if SQLite
 * cannot be guarded. */
static int guard_sqlite(const char *event, PyObject *args)
{
    int load = 0;
    if (!strcmp(event, "import")) {
        const char *module = arg_str(args, 0);
        const char *last = module ? strrchr(module, '.') : NULL;
        last = last ? last + 1 : module;
        if (!arg_str(args, 1) || !last || strcmp(last, "_sqlite3"))
            return 0;
        load = 1;
    } else if (strcmp(event, "sqlite3.connect")) {
        return 0;
    }
    if (sqlite_guard_wrap(load) == 0)
        return 0;
    PyErr_SetString(load ? PyExc_ImportError : PyExc_PermissionError,
                    "sandbox: sqlite3 is not available: the instance could not guard the "
                    "files SQLite opens");
    return -1;
}

static int hook(const char *event, PyObject *args, void *data)
{
    (void)data;
    if (sqlite_guard_enabled() && guard_sqlite(event, args) < 0)
        return -1;
    if (!armed)
        return 0;
    audit_rule_t rule = audit_rule_for(event);
    PyObject *first = PyTuple_GET_SIZE(args) > 0 ? PyTuple_GET_ITEM(args, 0) : NULL;
    switch (rule) {
    case AUDIT_ALLOW:
    case AUDIT_LEASE: /* only messages: no event's rule */
    case AUDIT_NS_IOCTL:
    case AUDIT_DIR_FD:
        return 0;
    case AUDIT_OPEN: {
        /* An int is an already open descriptor: nothing new is opened. */
        if (first && PyLong_Check(first))
            return 0;
        const char *mode = arg_str(args, 1);
        long flags = arg_long(args, 2, 0);
        if (audit_open_writes(mode, flags))
            return refuse(rule, "open for writing", first);
        if (check_folder(first, mode, flags) < 0)
            return -1;
        return check_read(AUDIT_READ, "open", first, 1);
    }
    case AUDIT_READ_DIR:
        return check_read(rule, event, first, 0);
    case AUDIT_READ:
        return 0;
    case AUDIT_KILL:
        if (arg_long(args, 0, 0) == (long)getpid())
            return 0;
        return refuse(rule, event, first);
    case AUDIT_SETOWN:
        if (audit_sets_file_owner(event, arg_long(args, 1, 0), arg_long(args, 2, 0),
                                  (long)getpid()))
            return refuse(rule, event, NULL);
        if (!strcmp(event, "fcntl.ioctl") && audit_socket_ioctl(arg_long(args, 1, 0)))
            return refuse(AUDIT_SOCKET, event, NULL);
        if (!strcmp(event, "fcntl.ioctl") && audit_namespace_ioctl(arg_long(args, 1, 0)))
            return refuse(AUDIT_NS_IOCTL, event, NULL);
        if (audit_takes_lease(event, arg_long(args, 1, 0)))
            return refuse(AUDIT_LEASE, event, NULL);
        return 0;
    case AUDIT_SCHED:
        return arg_long(args, 0, 0) == 0 ? 0 : refuse(rule, event, first);
    case AUDIT_IMPORT:
        return check_import(args);
    case AUDIT_DATABASE:
        return check_database(first);
    case AUDIT_FS_WRITE:
        return refuse(rule, event, first);
    case AUDIT_SOCKET:
    case AUDIT_PROCESS:
    case AUDIT_PIPE_PAGES:
    case AUDIT_CTYPES:
    case AUDIT_IDENTITY:
        return refuse(rule, event, NULL);
    case AUDIT_CHDIR:
        return chdir_stays(first) ? 0 : refuse(rule, event, first);
    case AUDIT_SQLITE_EXTENSION: {
        /* (connection, enabled) or (connection, path): turning them off
         * stays allowed */
        PyObject *second = PyTuple_GET_SIZE(args) > 1 ? PyTuple_GET_ITEM(args, 1) : NULL;
        if (!strcmp(event, "sqlite3.enable_load_extension") && second == Py_False)
            return 0;
        return refuse(rule, event, NULL);
    }
    }
    return 0;
}

int audit_hook_install(void)
{
    return PySys_AddAuditHook(hook, NULL);
}

void audit_hook_arm(const char *const *read_paths)
{
    for (size_t i = 0; read_paths && read_paths[i]; i++) {
        char real[PATH_MAX];
        char **grown = realloc(read_roots, (n_read_roots + 1) * sizeof *read_roots);
        if (!grown)
            break;
        read_roots = grown;
        /* As Landlock takes it: what the path names now, if it exists. */
        if (realpath(read_paths[i], real) && (read_roots[n_read_roots] = strdup(real)))
            n_read_roots++;
    }
    armed = 1;
}

int audit_hook_allow_libraries(const char *modules)
{
    free(library_modules);
    library_modules = strdup(modules);
    return library_modules ? 0 : -1;
}
