#include "audit_rules.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <linux/sockios.h>
#include <stddef.h>
#include <string.h>

typedef struct {
    const char *event;
    audit_rule_t rule;
} event_rule_t;

/* CPython 3.11's audit events (docs: "Audit events table") that let an app
 * leave its sandbox. Reads, stat and directory listings stay allowed. */
static const event_rule_t events[] = {
    {"open", AUDIT_OPEN},
    {"os.chflags", AUDIT_FS_WRITE},
    {"os.chmod", AUDIT_FS_WRITE},
    {"os.chown", AUDIT_FS_WRITE},
    {"os.lchflags", AUDIT_FS_WRITE},
    {"os.link", AUDIT_FS_WRITE},
    {"os.mkdir", AUDIT_FS_WRITE},
    /* These five are raised by the runtime's wrappers (sandbox.py). */
    {"os.memfd_create", AUDIT_FS_WRITE},
    {"os.mkfifo", AUDIT_FS_WRITE},
    {"os.mknod", AUDIT_FS_WRITE},
    {"os.posix_fallocate", AUDIT_FS_WRITE},
    {"os.remove", AUDIT_FS_WRITE},
    {"os.removexattr", AUDIT_FS_WRITE},
    {"os.rename", AUDIT_FS_WRITE},
    {"os.rmdir", AUDIT_FS_WRITE},
    {"os.setxattr", AUDIT_FS_WRITE},
    {"os.symlink", AUDIT_FS_WRITE},
    {"os.truncate", AUDIT_FS_WRITE},
    {"os.utime", AUDIT_FS_WRITE},
    {"shutil.chown", AUDIT_FS_WRITE},
    {"shutil.copyfile", AUDIT_FS_WRITE},
    {"shutil.copymode", AUDIT_FS_WRITE},
    {"shutil.copystat", AUDIT_FS_WRITE},
    {"shutil.copytree", AUDIT_FS_WRITE},
    {"shutil.make_archive", AUDIT_FS_WRITE},
    {"shutil.move", AUDIT_FS_WRITE},
    {"shutil.rmtree", AUDIT_FS_WRITE},
    {"shutil.unpack_archive", AUDIT_FS_WRITE},
    {"socket.__new__", AUDIT_SOCKET},
    {"socket.bind", AUDIT_SOCKET},
    {"socket.connect", AUDIT_SOCKET},
    {"socket.getaddrinfo", AUDIT_SOCKET},
    {"socket.gethostbyaddr", AUDIT_SOCKET},
    {"socket.gethostbyname", AUDIT_SOCKET},
    {"socket.getnameinfo", AUDIT_SOCKET},
    {"socket.sendmsg", AUDIT_SOCKET},
    {"socket.sendto", AUDIT_SOCKET},
    /* Raised by the runtime's socket.socketpair (sandbox.py). */
    {"socket.socketpair", AUDIT_SOCKET},
    {"socket.sethostname", AUDIT_SOCKET},
    {"os.exec", AUDIT_PROCESS},
    {"os.fork", AUDIT_PROCESS},
    {"os.forkpty", AUDIT_PROCESS},
    {"os.killpg", AUDIT_PROCESS},
    {"os.posix_spawn", AUDIT_PROCESS},
    {"os.spawn", AUDIT_PROCESS},
    {"os.system", AUDIT_PROCESS},
    {"pty.spawn", AUDIT_PROCESS},
    {"subprocess.Popen", AUDIT_PROCESS},
    {"os.pidfd_open", AUDIT_PROCESS},
    /* Raised by the runtime's wrappers (sandbox.py). */
    {"os.splice", AUDIT_PIPE_PAGES},
    {"os.sendfile", AUDIT_PIPE_PAGES},
    {"os.kill", AUDIT_KILL},
    {"fcntl.fcntl", AUDIT_SETOWN},
    {"fcntl.ioctl", AUDIT_SETOWN},
    /* Raised by the runtime's wrappers (sandbox.py) with the pid they name,
     * 0 for the instance itself. */
    {"os.setpriority", AUDIT_SCHED},
    {"os.getpriority", AUDIT_SCHED},
    {"os.sched_setaffinity", AUDIT_SCHED},
    {"os.sched_setparam", AUDIT_SCHED},
    {"os.sched_setscheduler", AUDIT_SCHED},
    {"os.sched_getaffinity", AUDIT_SCHED},
    {"os.sched_getparam", AUDIT_SCHED},
    {"os.sched_getscheduler", AUDIT_SCHED},
    {"os.sched_rr_get_interval", AUDIT_SCHED},
    {"os.getpgid", AUDIT_SCHED},
    {"os.getsid", AUDIT_SCHED},
    {"os.setpgid", AUDIT_SCHED},
    {"sqlite3.connect", AUDIT_DATABASE},
    /* An SQLite extension is a shared object SQLite dlopens: C code the
     * app ships, as a C extension module is (SB5), or any library of the
     * system's. enable_load_extension(True) also turns on SQL's
     * load_extension(), which raises no event: that is refused too. */
    {"sqlite3.enable_load_extension", AUDIT_SQLITE_EXTENSION},
    {"sqlite3.load_extension", AUDIT_SQLITE_EXTENSION},
    {"import", AUDIT_IMPORT},
    {"os.listdir", AUDIT_READ_DIR},
    {"os.scandir", AUDIT_READ_DIR},
    /* os.chdir and os.fchdir: the working directory is the process's,
     * shared by every request the instance runs. */
    {"os.chdir", AUDIT_CHDIR},
    /* Raised by the runtime's wrappers (sandbox.py): CPython raises no
     * event for them, and the kernel's bare EPERM named no rule (SB6). */
    {"os.chroot", AUDIT_IDENTITY},
    {"os.setuid", AUDIT_IDENTITY},
    {"os.setgid", AUDIT_IDENTITY},
    {"os.seteuid", AUDIT_IDENTITY},
    {"os.setegid", AUDIT_IDENTITY},
    {"os.setreuid", AUDIT_IDENTITY},
    {"os.setregid", AUDIT_IDENTITY},
    {"os.setresuid", AUDIT_IDENTITY},
    {"os.setresgid", AUDIT_IDENTITY},
    {"os.setgroups", AUDIT_IDENTITY},
    {"os.initgroups", AUDIT_IDENTITY},
    {"time.clock_settime", AUDIT_IDENTITY},
    {"time.clock_settime_ns", AUDIT_IDENTITY},
};

/* Standard-library modules that cannot work in an instance (they need
 * processes, shared memory, a terminal or a display), and ctypes, which
 * would reach around every rule. */
static const char *const refused_modules[] = {
    /* CPython's own test modules, which Debian ships in lib-dynload:
     * _testcapi writes files (pymarshal_write_object_to_file) and runs
     * any code object with no audit event, and none of them is for apps */
    "_ctypes_test",
    "_testbuffer",
    "_testcapi",
    "_testclinic",
    "_testimportmultiple",
    "_testinternalcapi",
    "_testmultiphase",
    "_xxtestfuzz",
    "xxlimited",
    "xxlimited_35",
    "_ctypes",
    "_curses",
    "_curses_panel",
    "_multiprocessing",
    "_posixshmem",
    "_tkinter",
    "_xxsubinterpreters",
    "ctypes",
    "curses",
    "multiprocessing",
    "pty",
    "readline",
    "termios",
    "tkinter",
};

/* The standard library's C extensions: all load but refused_modules. */
static const char stdlib_extension_dir[] = "/usr/lib/python3.11/lib-dynload/";
/* Debian's python3-* packages hold, besides the libraries app.yaml may
 * list, C code that reaches around every rule as ctypes would (cffi's
 * _cffi_backend): only the listed libraries' extensions load from there. */
static const char dist_packages_dir[] = "/usr/lib/python3/dist-packages/";

audit_rule_t audit_rule_for(const char *event)
{
    if (!strncmp(event, "ctypes.", 7))
        return AUDIT_CTYPES;
    for (size_t i = 0; i < sizeof events / sizeof *events; i++)
        if (!strcmp(events[i].event, event))
            return events[i].rule;
    return AUDIT_ALLOW;
}

int audit_open_writes(const char *mode, long flags)
{
    if (mode && strpbrk(mode, "wax+"))
        return 1;
    /* O_TMPFILE includes O_DIRECTORY, which alone only opens a directory. */
    return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)) != 0 ||
           (flags & O_TMPFILE) == O_TMPFILE;
}

int audit_sets_file_owner(const char *event, long cmd, long arg, long self_pid)
{
    if (!strcmp(event, "fcntl.fcntl"))
        return (cmd == F_SETOWN && arg != self_pid) || cmd == F_SETOWN_EX;
    return !strcmp(event, "fcntl.ioctl") && (cmd == FIOSETOWN || cmd == SIOCSPGRP);
}

int audit_takes_lease(const char *event, long cmd)
{
    return !strcmp(event, "fcntl.fcntl") && (unsigned)cmd == F_SETLEASE;
}

int audit_socket_ioctl(long cmd)
{
    unsigned range = (unsigned)cmd & 0xffffff00u; /* the kernel reads 32 bits */
    return range == 0x8900 || range == 0x8b00;
}

int audit_namespace_ioctl(long cmd)
{
    return ((unsigned)cmd & 0xff00u) == NSIO << 8;
}

/* Whether the len bytes at name are one of the comma-separated names. */
static int in_list(const char *list, const char *name, size_t len)
{
    for (const char *p = list; p && *p;) {
        size_t k = strcspn(p, ",");
        if (k == len && !strncmp(p, name, len))
            return 1;
        p += k + (p[k] == ',');
    }
    return 0;
}

/* Whether the len bytes at name are a refused module's name. */
static int is_refused_module(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof refused_modules / sizeof *refused_modules; i++)
        if (strlen(refused_modules[i]) == len && !strncmp(refused_modules[i], name, len))
            return 1;
    return 0;
}

const char *audit_import_refused(const char *module, const char *extension_path,
                                 const char *library_modules)
{
    static const char *const unavailable = "sandbox rule SB5: this standard-library module "
                                           "cannot work in an App Engine instance and is not "
                                           "available";
    if (is_refused_module(module, strcspn(module, ".")))
        return unavailable;
    if (!extension_path)
        return NULL;
    /* An extension loaded by hand (importlib's ExtensionFileLoader) raises
     * only this event, and its init function is named after the last part
     * of the name: "x._ctypes" loads _ctypes. */
    const char *last = strrchr(module, '.');
    last = last ? last + 1 : module;
    if (is_refused_module(last, strlen(last)))
        return unavailable;
    if (!strncmp(extension_path, stdlib_extension_dir, sizeof stdlib_extension_dir - 1))
        return NULL;
    if (!strncmp(extension_path, dist_packages_dir, sizeof dist_packages_dir - 1)) {
        /* The top-level module it belongs to: its package's folder, or
         * the name before the file's ABI tag ("ujson.cpython-311-...so"). */
        const char *top = extension_path + sizeof dist_packages_dir - 1;
        if (in_list(library_modules, top, strcspn(top, "/.")))
            return NULL;
        return "sandbox rule SB5: only the C extension modules of the libraries app.yaml lists "
               "(libraries:) load from Debian's dist-packages, and this one belongs to none";
    }
    return "sandbox rule SB5: C extension modules that the app ships cannot be loaded "
           "(only pure-Python modules import from the app)";
}

int audit_opens_folder(const char *mode, long flags, int is_dir)
{
    return !mode && (is_dir || (flags & O_DIRECTORY));
}

int audit_path_within(const char *path, const char *const *roots, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(roots[i]);
        if (len > 0 && roots[i][len - 1] == '/')
            len--; /* "/" itself */
        if (!strncmp(path, roots[i], len) && (path[len] == '\0' || path[len] == '/'))
            return 1;
    }
    return 0;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Whether the query (after "?", up to "#") has the parameter key=value,
 * spelt plainly. An escaped spelling is not seen: the file is checked
 * then, which refuses at most a hidden file's name for a memory one. */
static int has_param(const char *query, const char *param)
{
    size_t len = strlen(param);
    for (const char *p = query; *p && *p != '#';) {
        size_t k = strcspn(p, "&#");
        if (k == len && !strncmp(p, param, len))
            return 1;
        p += k + (p[k] == '&');
    }
    return 0;
}

int audit_sqlite_uri_file(const char *uri, char *out, size_t size)
{
    if (strncmp(uri, "file:", 5) != 0 || size == 0)
        return 0;
    const char *p = uri + 5;
    if (p[0] == '/' && p[1] == '/') {
        size_t authority = strcspn(p + 2, "/");
        if (authority && (authority != 9 || strncmp(p + 2, "localhost", 9)))
            return 0;
        p += 2 + authority;
    }
    size_t n = 0;
    int ended = 0; /* by "%00" */
    for (; *p && *p != '?' && *p != '#'; p++) {
        int hi = *p == '%' ? hex_digit(p[1]) : -1, lo = hi >= 0 ? hex_digit(p[2]) : -1;
        char c = *p;
        if (lo >= 0) {
            c = (char)(hi * 16 + lo);
            p += 2;
        }
        if (c == '\0')
            ended = 1;
        if (ended)
            continue;
        if (n + 1 >= size)
            return 0;
        out[n++] = c;
    }
    out[n] = '\0';
    const char *query = *p == '?' ? p + 1 : "";
    if (!n || !strcmp(out, ":memory:") || has_param(query, "mode=memory") ||
        has_param(query, "vfs=memdb"))
        return 0;
    return 1;
}

const char *audit_rule_message(audit_rule_t rule)
{
    switch (rule) {
    case AUDIT_READ:
    case AUDIT_READ_DIR:
        return "sandbox rule SB1: the app can read only its own files and the Python library";
    case AUDIT_OPEN:
    case AUDIT_FS_WRITE:
    case AUDIT_DATABASE:
        return "sandbox rule SB1: the app cannot write to the filesystem "
               "(tempfile.TemporaryFile works in memory)";
    case AUDIT_SOCKET:
        return "sandbox rule SB2: the app cannot open sockets or look up hosts "
               "(use the URL fetch service)";
    case AUDIT_PROCESS:
    case AUDIT_KILL:
        return "sandbox rule SB3: the app cannot start or signal processes";
    case AUDIT_SETOWN:
        return "sandbox rule SB3: the app cannot start or signal processes (a file's owner is "
               "signalled when the file is ready)";
    case AUDIT_SCHED:
        return "sandbox rule SB4: the app can see and change the priority, CPUs, scheduling, "
               "process group and session of its own process only";
    case AUDIT_LEASE:
        return "sandbox rule SB4: the app cannot take a lease on a file (other processes "
               "opening it for writing would wait for the app)";
    case AUDIT_NS_IOCTL:
        return "sandbox rule SB4: the app cannot ask about namespaces (they tell which "
               "processes the host runs)";
    case AUDIT_DIR_FD:
        return "sandbox rule SB1: the app cannot open a folder as a descriptor (a file it may "
               "not read would open relative to it; os.listdir, os.scandir and os.walk list "
               "folders)";
    case AUDIT_PIPE_PAGES:
        return "sandbox rule SB4: the app cannot splice or sendfile (a pipe would hold pages of "
               "memory and of the host's files past the instance's memory limit)";
    case AUDIT_IDENTITY:
        return "sandbox rule SB4: the app cannot change the instance's user, groups or root "
               "folder, nor the system's clock";
    case AUDIT_CTYPES:
        return "sandbox rule SB5: ctypes is not available";
    case AUDIT_SQLITE_EXTENSION:
        return "sandbox rule SB5: SQLite extensions cannot be loaded (they are C code; only "
               "pure-Python modules import from the app)";
    case AUDIT_CHDIR:
        return "sandbox rule SB5: os.chdir is not available (the working directory is the app's "
               "root for every request the instance runs, as on App Engine)";
    case AUDIT_IMPORT:
    case AUDIT_ALLOW:
        break;
    }
    return "sandbox: refused";
}
