"""The Python side of the sandbox: temporary files live in memory (SB1),
socketpair is refused with SB2's message, the priority, CPUs, scheduling,
process group and session of other processes with SB4's, resource.prlimit names the instance
as 0 (the only pid the kernel allows), the os calls the kernel always
refuses with their rule's, dbm's databases are checked as open's files,
selectors uses poll (the kernel refuses epoll), and SQLite keeps its
temporary tables, indices and sorts in memory.

Apps cannot write to the filesystem (the C audit hook refuses it with a
PermissionError, and the kernel would anyway), but App Engine let them use
tempfile.TemporaryFile: here it returns an in-memory file, and
SpooledTemporaryFile never rolls over to disk. Installed in the zygote,
before any app code runs; tempfile itself (with shutil, random, bz2 and
lzma behind it, several ms) is patched when something first imports it,
not at start.
"""
import io
import sys

from google.appengine.runtime import import_hooks


def _memory_file(mode="w+b", buffering=-1, encoding=None, newline=None,
                 suffix=None, prefix=None, dir=None, *, errors=None):
    """tempfile.TemporaryFile without a file: BytesIO, or StringIO for text."""
    if "b" in mode:
        return io.BytesIO()
    return io.StringIO(newline=newline)


def _patch(tempfile):
    tempfile.TemporaryFile = _memory_file
    # gettempdir() would probe for a writable folder by writing to each
    # candidate; with a fixed answer, mkstemp and friends fail at once with
    # the sandbox's own message.
    tempfile.tempdir = "/tmp"


def _audit_socketpair(socket):
    """CPython raises no audit event for socketpair, so the audit hook
    could not name SB2 (SB6): the kernel's bare EPERM was all the app saw.
    The event is raised here; _socket.socketpair itself, called directly,
    still meets the kernel's refusal."""
    original = socket.socketpair

    def socketpair(*args, **kwargs):
        sys.audit("socket.socketpair", *args)
        return original(*args, **kwargs)

    socketpair.__doc__ = original.__doc__
    socketpair.__wrapped__ = original
    socket.socketpair = socketpair


def _wrap(module, name, call):
    """Replaces module.NAME with a function that runs call(original, *args,
    **kwargs)."""
    original = getattr(module, name, None)
    if original is None:
        return
    def wrapper(*args, **kwargs):
        return call(original, *args, **kwargs)
    wrapper.__name__ = name
    wrapper.__doc__ = original.__doc__
    wrapper.__wrapped__ = original
    setattr(module, name, wrapper)


# os functions the kernel layers always refuse and for which CPython raises
# no audit event: the event each raises first lets the audit hook name the
# rule (SB6), where the app saw a bare EROFS or EPERM.
# With them, chroot and the calls that change the instance's user or groups:
# the kernel refuses each (no capabilities) unless it would change nothing,
# which is refused here too, as App Engine's os module had none of them.
_REFUSED_WITHOUT_EVENT = ("mkfifo", "mknod", "posix_fallocate", "memfd_create", "pidfd_open",
                          "splice", "sendfile", "chroot", "setuid", "setgid", "seteuid",
                          "setegid", "setreuid", "setregid", "setresuid", "setresgid",
                          "setgroups", "initgroups")


def _audit_refused_without_event(os):
    def raising(event):
        def call(original, *args, **kwargs):
            sys.audit(event, *args[:1])
            return original(*args, **kwargs)
        return call

    for name in _REFUSED_WITHOUT_EVENT:
        _wrap(os, name, raising("os." + name))
    import time  # loaded at start already (a built-in module)
    for name in ("clock_settime", "clock_settime_ns"):  # seccomp refuses them
        _wrap(time, name, raising("time." + name))


def _audit_dbm_open(module):
    """dbm.ndbm and dbm.gnu (shelve's databases) open their files in C,
    with no audit event: a database that would be written met the bare
    EROFS, and a hidden or outside file was read. Each open now raises
    open's event, with "r" or "w" by its flag, which the audit hook checks
    as it checks open's."""
    def call(original, filename, flag="r", *rest):
        sys.audit("open", filename, "r" if flag[:1] == "r" else "w", 0)
        return original(filename, flag, *rest)

    _wrap(module, "open", call)


def _sqlite_temp_in_memory(_sqlite3):
    """SQLite writes temporary tables and indices, the sorts too large for
    its cache and a "" database to files it creates in /tmp, which the
    sandbox refuses: a CREATE TEMP TABLE or a large ORDER BY or CREATE
    INDEX, even on a ":memory:" database, failed with "disk I/O error".
    Each connection sqlite3.connect makes keeps them in memory
    (PRAGMA temp_store = MEMORY), and "" is opened as ":memory:", as SQLite
    itself opens it when built to keep temporary storage in memory.
    _sqlite3 is patched before sqlite3.dbapi2 copies its names."""
    def connect(original, database, *args, **kwargs):
        if database in ("", b""):
            database = ":memory:"
        connection = original(database, *args, **kwargs)
        if isinstance(connection, _sqlite3.Connection):
            # the base class's execute: a factory's subclass may change it
            _sqlite3.Connection.execute(connection, "PRAGMA temp_store = MEMORY").close()
        return connection

    _wrap(_sqlite3, "connect", connect)


def _own_pid(pid):
    """pid as the kernel lets the instance name itself: 0 for its own."""
    import os
    return 0 if pid == os.getpid() else pid


def _audit_own_process_only(os):
    """The kernel (seccomp) lets os.setpriority, os.getpriority, os.getpgid,
    os.getsid, os.setpgid and os.sched_* name the instance itself only as
    0, never another process (another app's instance, the server, any
    process of the host, whose existence the getters, and setpgid's EINVAL
    for a thread id, would tell). CPython raises no
    audit event for them: here each raises one with the pid it names, 0
    for the instance (its own pid is passed on as 0), -1 for a process
    group or a user, which the audit hook refuses with SB4's message."""
    def priority(event):
        def call(original, which, who, *rest):
            who = _own_pid(who) if which == os.PRIO_PROCESS else who
            sys.audit(event, who if which == os.PRIO_PROCESS else -1)
            return original(which, who, *rest)
        return call

    def first_is_pid(event):
        def call(original, pid, *rest):
            pid = _own_pid(pid)
            sys.audit(event, pid)
            return original(pid, *rest)
        return call

    for name in ("setpriority", "getpriority"):
        _wrap(os, name, priority("os." + name))
    for name in ("sched_setaffinity", "sched_setparam", "sched_setscheduler",
                 "sched_getaffinity", "sched_getparam", "sched_getscheduler",
                 "sched_rr_get_interval", "getpgid", "getsid", "setpgid"):
        _wrap(os, name, first_is_pid("os." + name))


def _own_prlimit(resource):
    """The kernel lets resource.prlimit name the instance only as 0 too (any
    other pid fails with EPERM): its own pid is passed on as 0."""
    def prlimit(original, pid, *rest):
        return original(_own_pid(pid), *rest)

    _wrap(resource, "prlimit", prlimit)


def _no_epoll_selector(selectors):
    """The kernel refuses epoll instances (their watches count against a
    quota of every process of the server's user): selectors.DefaultSelector,
    picked by what the select module has, falls back to poll."""
    if selectors.DefaultSelector is getattr(selectors, "EpollSelector", None):
        selectors.DefaultSelector = getattr(selectors, "PollSelector",
                                            selectors.SelectSelector)


def install():
    import os
    _audit_own_process_only(os)
    _audit_refused_without_event(os)
    import_hooks.when_imported("tempfile", _patch)
    import_hooks.when_imported("socket", _audit_socketpair)
    import_hooks.when_imported("resource", _own_prlimit)
    import_hooks.when_imported("selectors", _no_epoll_selector)
    import_hooks.when_imported("_sqlite3", _sqlite_temp_in_memory)
    for name in ("dbm.ndbm", "dbm.gnu"):
        import_hooks.when_imported(name, _audit_dbm_open)
