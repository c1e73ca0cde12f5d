/* What the Python-level sandbox (audit_hook.h) refuses, as pure functions
 * of an audit event's name and arguments, so they can be unit-tested
 * without an interpreter. Each refusal names an SB rule of SPEC.md. */
#ifndef GAELIC_AUDIT_RULES_H
#define GAELIC_AUDIT_RULES_H

#include <stddef.h>

typedef enum {
    AUDIT_ALLOW,
    AUDIT_OPEN,       /* refused if it opens for writing (audit_open_writes) or reads outside */
    AUDIT_FS_WRITE,   /* always refused: deletes, renames, mkdir, chmod, ... */
    AUDIT_SOCKET,     /* sockets and name lookups */
    AUDIT_PROCESS,    /* subprocess, os.system, exec, fork, spawn */
    AUDIT_KILL,       /* os.kill: refused unless aimed at the instance itself */
    AUDIT_IMPORT,     /* audit_import_refused */
    AUDIT_CTYPES,     /* every ctypes.* event (ctypes may be loaded already) */
    AUDIT_READ_DIR,   /* listing a folder: refused outside the readable trees */
    AUDIT_READ,       /* only a message: reading outside the readable trees */
    AUDIT_SCHED,      /* priority, CPUs, scheduling: refused unless of the instance itself (0) */
    AUDIT_SETOWN,     /* fcntl/ioctl: audit_sets_file_owner, audit_socket_ioctl */
    AUDIT_DATABASE,   /* sqlite3.connect: refused if it creates a file, checked as a read */
    AUDIT_LEASE,      /* fcntl (audit_takes_lease): only a message */
    AUDIT_DIR_FD,     /* os.open of a folder (audit_opens_folder): only a message */
    AUDIT_NS_IOCTL,   /* ioctl (audit_namespace_ioctl): only a message */
    AUDIT_PIPE_PAGES, /* os.splice, os.sendfile: always refused */
    AUDIT_CHDIR,      /* os.chdir, os.fchdir: always refused */
    AUDIT_SQLITE_EXTENSION, /* SQLite's extensions: refused, and turning them on */
    AUDIT_IDENTITY,         /* the process's user, groups, root, the system clock: always refused */
} audit_rule_t;

/* The rule that governs an audit event. */
audit_rule_t audit_rule_for(const char *event);

/* 1 if an "open" event with this mode (may be NULL, as for os.open) and
 * these os.open flags creates, truncates or writes a file. */
int audit_open_writes(const char *mode, long flags);

/* 1 if an "open" event with this mode (NULL for os.open) and these flags
 * gives the app a descriptor of a folder (is_dir: the path names one,
 * following links, as open does): with dir_fd, any file below it opens by
 * a relative name the event carries alone, so the rules on the app's
 * hidden files could not tell which file it is. The builtin open() refuses
 * folders itself. */
int audit_opens_folder(const char *mode, long flags, int is_dir);

/* 1 if an "fcntl.fcntl" or "fcntl.ioctl" event with this command and
 * argument makes a process other than self_pid a file's owner, whom the
 * kernel signals when the file is ready. */
int audit_sets_file_owner(const char *event, long cmd, long arg, long self_pid);

/* 1 if an "fcntl.fcntl" event with this command takes (or drops) a lease
 * on a file, which makes other processes that open it for writing wait. */
int audit_takes_lease(const char *event, long cmd);

/* 1 if ioctl command cmd is a socket or wireless one (0x89xx, 0x8Bxx):
 * they work on any socket, the channel too, and list the host's network
 * interfaces and addresses. */
int audit_socket_ioctl(long cmd);

/* 1 if ioctl command cmd is a namespace one (type 0xB7, any direction and
 * size): on /proc/self/ns/pid they say which pids of the host exist. */
int audit_namespace_ioctl(long cmd);

/* For an "import" event: module is the full dotted name; extension_path the
 * resolved path of the C extension about to be loaded, or NULL when the
 * event is not about an extension; library_modules the top-level modules
 * of the libraries app.yaml lists, "a,b,c" (may be NULL): of Debian's
 * dist-packages only their extensions load. Returns the ImportError
 * message or NULL if the import may go on. */
const char *audit_import_refused(const char *module, const char *extension_path,
                                 const char *library_modules);

/* 1 if path (absolute, with no symlink, "." or ".." left) is one of roots
 * (each resolved the same way, n of them) or lies in one of them. */
int audit_path_within(const char *path, const char *const *roots, size_t n);

/* The file an SQLite "file:" URI names, as SQLite reads it: after an
 * authority ("file://" then "" or "localhost"), up to "?" or "#", %HH
 * decoded ("%00" ends it). Returns 1 with it in out (size bytes), or 0
 * when uri is no "file:" URI, names no file (a temporary database, an
 * in-memory one: ":memory:", mode=memory, vfs=memdb), has an authority
 * SQLite refuses, or does not fit. */
int audit_sqlite_uri_file(const char *uri, char *out, size_t size);

/* The PermissionError message for a refused rule (not AUDIT_IMPORT). */
const char *audit_rule_message(audit_rule_t rule);

#endif
