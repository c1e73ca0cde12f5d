"""Sandbox escape attempts (tests/integration/test_sandbox.py).

GET /try/NAME?path=...&port=...&token=... runs attempt NAME and answers
JSON: {"caught": TYPE, "message": MSG} when the attempt raised (the
refusal the app sees), {"done": VALUE} when it went through. `path` is
where the test wants a write attempted, `port` a 127.0.0.1 listener of
the test's, `token` the argument a started process would carry.
"""
import _socket
import codecs
import datetime
import errno
import json
import mimetypes
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import zoneinfo

APP = os.path.dirname(os.path.abspath(__file__))


def _check_status(what, status):
    if status != 0:
        raise OSError("%s returned %r" % (what, status))
    return status


def _fork():
    pid = os.fork()
    if pid == 0:
        os.execv("/bin/sleep", ["sleep", "0"])
    return pid


def _fork_exec(q):
    import _posixsubprocess
    r, w = os.pipe()
    args = [b"/bin/sleep", q["token"].encode()]
    # Python 3.11's signature: no audit event is raised on this path.
    return _posixsubprocess.fork_exec(
        args, [args[0]], True, (), None, None, -1, -1, -1, -1, -1, -1, r, w,
        True, False, -1, None, None, None, -1, None, False)


def _ctypes_system(q):
    import ctypes
    libc = ctypes.CDLL(None)
    return _check_status("system()", libc.system(("/bin/sleep " + q["token"]).encode()))


def _ctypes_load(q):
    import ctypes
    return str(ctypes.CDLL(os.path.join(APP, "evilext.so")))


def _libc_call(name, *args):
    """Calls a libc function the stdlib does not wrap; OSError on -1."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    rc = getattr(libc, name)(*args)
    if rc == -1:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (name, os.strerror(err)))
    return rc


def _prlimit_zygote(q):
    """Reads the limits of another process of the uid (the zygote)."""
    import resource
    return resource.prlimit(os.getppid(), resource.RLIMIT_NOFILE)


def _futex_pi(q):
    """A priority-inheritance futex whose word names a thread id (q["tid"]):
    ESRCH or EPERM tells whether that pid exists, and the kernel code
    behind it had towelroot's privilege escalation."""
    import ctypes
    word = ctypes.c_uint32(int(q["tid"]))
    # SYS_futex (202), FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG, no timeout
    return _libc_call("syscall", 202, ctypes.byref(word), 6 | 128, 0, None, None, 0)


def _capget_other(q):
    """Another process's capabilities (and so whether its pid exists)."""
    import ctypes
    header = (ctypes.c_uint32 * 2)(0x20080522, os.getppid())  # _LINUX_CAPABILITY_VERSION_3
    data = (ctypes.c_uint32 * 6)()
    return _libc_call("capget", header, data)


def _page_cache(q):
    """Which pages of a file shared with the host (Python's json package)
    its page cache holds, a side channel on what other processes run:
    mincore of a mapping of it, or (how=cachestat) cachestat (451) of its
    descriptor."""
    import ctypes
    import json
    with open(json.__file__, "rb") as f:
        if q.get("how") == "cachestat":
            window = (ctypes.c_uint64 * 2)(0, 0)  # all of it
            return _libc_call("syscall", 451, f.fileno(), window, (ctypes.c_uint64 * 5)(), 0)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_long]
        addr = libc.mmap(None, 4096, 1, 2, f.fileno(), 0)  # PROT_READ, MAP_PRIVATE
        return _libc_call("mincore", ctypes.c_void_p(addr), ctypes.c_size_t(4096),
                          (ctypes.c_ubyte * 1)())


def _ustat(q):
    """The free blocks of a file system of the host's by its device number
    (q["dev"]), one the instance's tree does not hold: ustat (x86-64's
    136), which glibc no longer wraps."""
    import ctypes
    buf = ctypes.create_string_buffer(32)  # struct ustat
    _libc_call("syscall", 136, int(q["dev"]), buf)
    return int.from_bytes(buf.raw[8:16], "little")


def _prlimit_self(q):
    import resource
    return resource.prlimit(os.getpid(), resource.RLIMIT_NOFILE) == resource.getrlimit(
        resource.RLIMIT_NOFILE)


def _syncfs(q):
    with open(os.path.join(APP, "app.yaml")) as f:
        return _libc_call("syncfs", f.fileno())


def _quotactl_sync(q):
    """quotactl_fd's Q_SYNC on the app's file system: it needs no privilege
    and, quotas on or off, does what syncfs does (writes the file system
    back, flushes the disk's write cache). Only a refusal counts: a file
    system without quota support answers ENOSYS."""
    with open(os.path.join(APP, "app.yaml")) as f:
        # SYS_quotactl_fd (443 on every architecture), QCMD(Q_SYNC, USRQUOTA)
        return _refused(lambda: _libc_call("syscall", 443, f.fileno(), 0x80000100, 0, None))


def _modify_ldt(q):
    """Clears an entry of this process's x86 local descriptor table (which
    the kernel allocates for it): modify_ldt, which nothing an instance
    runs calls, and whose kernel code had a privilege escalation and a
    use-after-free (CVE-2015-3290, CVE-2017-17053). Only a refusal
    counts."""
    import ctypes
    # struct user_desc: entry 0, base 0, limit 0, read_exec_only and
    # seg_not_present (an empty entry)
    desc = ctypes.create_string_buffer(bytes(12) + (0x28).to_bytes(4, "little"), 16)
    return _refused(lambda: _libc_call("syscall", 154, 0x11, desc, 16))  # SYS_modify_ldt


def _seccomp_filter(q):
    """Stacks a seccomp filter (one that allows everything) on the
    instance's own: each is kernel memory no address-space limit counts,
    JIT-compiled against net.core.bpf_jit_limit, one quota for every
    unprivileged process of the host (seven 4096-instruction filters a
    thread, 38 KB of JIT each here: 500 threads in each of four instances
    would use it up). Only a refusal counts."""
    import ctypes

    class sock_filter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                    ("k", ctypes.c_uint32)]

    class sock_fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(sock_filter))]
    code = (sock_filter * 1)(sock_filter(0x06, 0, 0, 0x7fff0000))  # ret SECCOMP_RET_ALLOW
    prog = sock_fprog(1, code)
    if q.get("how") == "prctl":  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        return _refused(lambda: _libc_call("prctl", 22, 2, ctypes.byref(prog), 0, 0))
    # SYS_seccomp (x86-64), SECCOMP_SET_MODE_FILTER
    return _refused(lambda: _libc_call("syscall", 317, 1, 0, ctypes.byref(prog)))


def _landlock_ruleset(q):
    """A Landlock ruleset: its rules, one for each file the instance can
    open in each ruleset it holds open (up to 1024), are kernel memory no
    address-space limit counts: 70,000 rules took 4.4 MB in half a second
    here, and /usr's 170,000 files in 1000 rulesets would be 10 GB. Only a
    refusal counts."""
    import ctypes
    attr = ctypes.c_uint64(1 << 2)  # handled_access_fs: READ_FILE
    # SYS_landlock_create_ruleset (444 on every architecture)
    return _refused(lambda: _libc_call("syscall", 444, ctypes.byref(attr), 8, 0))


def _futex_hash(q):
    """Gives the instance a private futex hash of 65,536 slots
    (prctl(PR_FUTEX_HASH), Linux 6.16): kernel memory no address-space
    limit counts, with no bound but kvmalloc's (4,194,304 slots took
    270 MB here). A kernel without it says EINVAL."""
    _libc_call("prctl", 78, 1, 1 << 16, 0, 0)  # PR_FUTEX_HASH, PR_FUTEX_HASH_SET_SLOTS
    return _libc_call("prctl", 78, 2, 0, 0, 0)  # PR_FUTEX_HASH_GET_SLOTS


def _cpu_clock_other(q):
    """Reads the CPU time of another process (the zygote) through its
    process CPU clock, as the kernel lets any process read any other's by
    pid, to the nanosecond: what a hidden /proc keeps from the app (which
    processes the host runs, when they work). No audit event: the kernel's
    refusal even when armed."""
    import time
    pid = os.getppid()
    clock = ((~pid << 3) | 2) & 0xffffffff  # MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)
    return time.clock_gettime(clock - (1 << 32))


def _notification_pipe(q):
    """A notification pipe (pipe2's O_NOTIFICATION_PIPE, which is O_EXCL):
    watch queue code nothing an instance uses, whose filter had an
    out-of-bounds write to root (CVE-2022-0995), through the os module
    alone. Only a refusal counts: a kernel built without watch queues
    says ENOPKG."""
    fds = _refused(lambda: os.pipe2(os.O_EXCL))
    if isinstance(fds, tuple):
        for fd in fds:
            os.close(fd)
    return fds


def _fscrypt_key(q):
    """Adds, or removes, an fscrypt key on the app's file system through
    the os and fcntl modules: a key outlives the instance in the file
    system's keyring, counted against the uid's key quota, and removing
    the uid's own key (its identifier is in the policy of any file it
    encrypts, the app's own among them) locks again what it unlocked.
    Only a refusal counts: a file system without the encrypt feature says
    EOPNOTSUPP."""
    import fcntl
    import struct
    # struct fscrypt_key_specifier: FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER, an identifier
    spec = struct.pack("II32s", 2, 0, bytes(16))
    with open(os.path.join(APP, "app.yaml"), "rb") as f:
        if q.get("how") == "remove":  # FS_IOC_REMOVE_ENCRYPTION_KEY
            arg = bytearray(spec + bytes(24))
            return _refused(lambda: fcntl.ioctl(f.fileno(), 0xC0406618, arg))
        # FS_IOC_ADD_ENCRYPTION_KEY: raw_size 64, key_id 0, then the raw key
        arg = bytearray(spec + struct.pack("II32x", 64, 0) + os.urandom(64))
        return _refused(lambda: fcntl.ioctl(f.fileno(), 0xC0506617, arg))


def _ksm(q):
    """Offers the instance's memory to KSM, which merges pages of the same
    content across all processes of the host that offered theirs: where
    the host runs ksmd (hosts of virtual machines do), how long a write
    to a merged page takes tells whether another process holds that
    content, and a merged page is shared with it. Through the mmap module
    alone (madvise), or for all its memory (prctl(PR_SET_MEMORY_MERGE));
    no capability needed. A kernel without KSM says EINVAL."""
    import mmap
    if q.get("how") == "prctl":
        return _libc_call("prctl", 67, 1, 0, 0, 0)  # PR_SET_MEMORY_MERGE
    m = mmap.mmap(-1, 1 << 20)
    try:
        return m.madvise(mmap.MADV_MERGEABLE)
    finally:
        m.close()


def _sysv_shm(q):
    """A segment would outlive the instance, outside its memory limit."""
    return _libc_call("shmget", 0, 1 << 20, 0o1600)  # IPC_PRIVATE, IPC_CREAT


def _inotify(q):
    """A watch would name the files created in a folder the app cannot list."""
    fd = _libc_call("inotify_init1", 0)
    return _libc_call("inotify_add_watch", fd, os.path.dirname(q["path"]).encode(), 0x100)


def _aio_context(q):
    """Takes a kernel AIO context: its events count against fs.aio-max-nr,
    one quota for the whole host, which an instance could hold all of
    while it lives (every other process's io_setup then fails). Given
    back at once if it was taken."""
    import ctypes
    ctx = ctypes.c_ulong(0)
    _libc_call("syscall", 206, 1, ctypes.byref(ctx))  # SYS_io_setup
    _libc_call("syscall", 207, ctx)  # SYS_io_destroy
    return ctx.value


def _fsync_loop(q):
    """fsync and fdatasync of an app file opened read-only, q["n"] times
    each: on most file systems each call flushes the disk's write cache,
    though the instance has nothing to write back. The calls that went
    through. (msync flushes nothing here: a shared mapping of a read-only
    descriptor is a private one to the kernel.)"""
    n = int(q["n"])
    done = 0
    with open(os.path.join(APP, "app.yaml"), "rb") as f:
        for call in (os.fsync, os.fdatasync):
            for _ in range(n):
                call(f.fileno())
                done += 1
    return done


def _hugetlb(q):
    """Maps huge pages (MAP_HUGETLB, through the mmap module: no ctypes)
    from the host's pool (vm.nr_hugepages), one for the whole machine
    that whoever reserved it (a database, VMs) then found empty. Given
    back at once if it was taken."""
    import mmap
    m = mmap.mmap(-1, 2 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x40000)
    m.close()
    return "mapped"


def _pipe_pages(q):
    """A byte of a file the instance may read, put in a pipe by reference:
    os.splice and os.sendfile (q["call"]) into a pipe keep the page
    cache's folio of it, up to 2 MiB (a mapping that asks for huge pages
    loads the file so), which no limit of the instance counts and no
    reclaim frees while the pipe is open: 8176 buffers of 1024
    descriptors pinned gigabytes of /usr."""
    fd = os.open(os.path.join(APP, "app.yaml"), os.O_RDONLY)
    r, w = os.pipe()
    try:
        if q["call"] == "splice":
            os.splice(fd, w, 1, offset_src=0)
        else:
            os.sendfile(w, fd, 0, 1)
        return "in the pipe"
    finally:
        for d in (fd, r, w):
            os.close(d)


def _vmsplice(q):
    """A byte of each of 16 huge pages of the instance's, put in a pipe by
    reference (ctypes): unmapped, the pages stay the pipe's, 32 MiB that
    no address-space limit counts."""
    import ctypes
    import mmap
    libc = ctypes.CDLL(None, use_errno=True)

    class IoVec(ctypes.Structure):
        _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

    huge = 2 << 20
    r, w = os.pipe()
    m = mmap.mmap(-1, 17 * huge, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        m.madvise(mmap.MADV_HUGEPAGE)
        start = ctypes.addressof(ctypes.c_char.from_buffer(m))
        start = (start + huge - 1) & ~(huge - 1)
        for i in range(16):
            ctypes.memset(start + i * huge, 1, huge)
            iov = IoVec(start + i * huge, 1)
            if libc.vmsplice(w, ctypes.byref(iov), 1, 0) < 0:
                err = ctypes.get_errno()
                raise OSError(err, "vmsplice: " + os.strerror(err))
        return "in the pipe"
    finally:
        os.close(r)
        os.close(w)


_KEPT = []

# x86-64: clone(CLONE_VM | CLONE_SIGHAND | CLONE_THREAD, stack = the
# argument); the new thread exits at once; the caller gets clone's result.
_CLONE_OWN_FD_TABLE = bytes.fromhex(
    "4889febf0009010031d24d31d24d31c0b8380000000f054885c07509b83c00000031ff0f05c3")


def _thread_own_fds(q):
    """A thread without CLONE_FILES (machine code through ctypes: glibc
    has no such call): its own descriptor table, which RLIMIT_NOFILE
    bounds on its own, another 1024 for each thread the cap allows."""
    import ctypes
    import mmap
    code = mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                     prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    code.write(_CLONE_OWN_FD_TABLE)
    stack = ctypes.create_string_buffer(4096)
    clone = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_void_p)(
        ctypes.addressof(ctypes.c_char.from_buffer(code)))
    _KEPT.append((code, stack))  # until the thread has left them
    tid = clone(ctypes.addressof(stack) + 4096 - 64)
    if tid < 0:
        raise OSError(-tid, "clone: " + os.strerror(-tid))
    return "thread started"


def _page_cache_nowait(q):
    """Whether the first page of one of the app's files is in the host's
    page cache, asked by a read that fails rather than wait for the disk
    (RWF_NOWAIT, through the os module): mincore's question."""
    fd = os.open(os.path.join(APP, "app.yaml"), os.O_RDONLY)
    try:
        os.preadv(fd, [bytearray(1)], 0, os.RWF_NOWAIT)
        return "cached"
    except BlockingIOError:
        return "not cached"
    finally:
        os.close(fd)


def _page_cache_drop(q):
    """Throws the pages of one of the app's files out of the host's page
    cache: fadvise's DONTNEED, or MADV_PAGEOUT (21) on a mapping of it
    (the mmap module; Debian's lacks the name)."""
    import mmap
    fd = os.open(os.path.join(APP, "app.yaml"), os.O_RDONLY)
    try:
        if q["how"] == "fadvise":
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        else:
            with mmap.mmap(fd, 0, prot=mmap.PROT_READ) as m:
                m[0]
                m.madvise(21)
        return "asked"
    finally:
        os.close(fd)


def _mapped_elsewhere(q):
    """Whether another process of the host maps the first page of libc (a
    mapping of it made here): pagemap's "exclusively mapped" bit, and what
    smaps, smaps_rollup and numa_maps (mapmax) say of sharing. Each
    file's answer, None where the file reads as empty."""
    import mmap
    import struct
    path = "/usr/lib/x86_64-linux-gnu/libc.so.6"
    if not os.path.exists(path):
        path = "/usr/lib/aarch64-linux-gnu/libc.so.6"
    fd = os.open(path, os.O_RDONLY)
    try:
        with mmap.mmap(fd, 4096, prot=mmap.PROT_READ) as m:
            m[0]
            addr = None
            with open("/proc/self/maps") as f:
                for line in f:
                    fields = line.split()
                    lo, hi = (int(x, 16) for x in fields[0].split("-"))
                    if fields[-1] == path and hi - lo == 4096:
                        addr = lo
            with open("/proc/self/pagemap", "rb") as f:
                f.seek(addr // 4096 * 8)
                entry = f.read(8)
            answers = {"pagemap": entry and not struct.unpack("Q", entry)[0] >> 56 & 1}
            for name in ("smaps", "smaps_rollup", "numa_maps"):
                with open("/proc/self/" + name) as f:
                    text = f.read()
                answers[name] = ("Shared_Clean" in text or "mapmax" in text) if text else None
            return answers
    finally:
        os.close(fd)


def _chroot(q):
    os.chroot("/")
    return "changed its root"


def _setuid(q):
    """To the uid it has: the kernel lets that through, changing nothing."""
    os.setuid(os.getuid())
    return "set"


def _setgroups(q):
    os.setgroups([])
    return "set"


def _clock_settime(q):
    import time
    time.clock_settime(time.CLOCK_REALTIME, time.time())
    return "set"


def _epoll(q):
    """An epoll instance: each file it watches counts against one quota for
    every process of the uid (fs.epoll.max_user_watches), the server's and
    other apps' instances' too, and 1024 descriptors make 262,144 watches."""
    import select
    ep = select.epoll()
    ep.close()
    return "created"


def _default_selector(q):
    """selectors.DefaultSelector on a pipe of the instance's own."""
    import selectors
    r, w = os.pipe()
    try:
        with selectors.DefaultSelector() as s:
            s.register(r, selectors.EVENT_READ)
            os.write(w, b"x")
            return type(s).__name__, len(s.select(5))
    finally:
        os.close(r)
        os.close(w)


def _setown_other(q):
    """Makes another process the owner of a pipe, to be sent SIGKILL (by
    F_SETSIG) when the pipe gets something to read."""
    import fcntl
    r, w = os.pipe()
    fcntl.fcntl(r, fcntl.F_SETOWN, int(q["victim"]))
    fcntl.fcntl(r, 10, signal.SIGKILL)  # F_SETSIG
    fcntl.fcntl(r, fcntl.F_SETFL, os.O_ASYNC | os.O_NONBLOCK)
    return os.write(w, b"x")


def _rt_file_signal(q):
    """Makes a real-time signal the one a pipe of its own sends it (F_SETSIG)
    when it gets something to read: each would stay queued, blocked."""
    import fcntl
    r, w = os.pipe()
    try:
        return fcntl.fcntl(r, 10, signal.SIGRTMIN)  # F_SETSIG
    finally:
        os.close(r)
        os.close(w)


def _direct_io(q):
    """Reads a file of its own with O_DIRECT: from the disk each time."""
    fd = os.open(os.path.join(APP, "app.yaml"), os.O_RDONLY | os.O_DIRECT)
    os.close(fd)
    return fd


def _direct_io_later(q):
    """The same, O_DIRECT set after the open."""
    import fcntl
    fd = os.open(os.path.join(APP, "app.yaml"), os.O_RDONLY)
    try:
        return fcntl.fcntl(fd, fcntl.F_SETFL, os.O_DIRECT)
    finally:
        os.close(fd)


def _posix_timer(q):
    """Creates a POSIX timer (ctypes): each holds a queued signal's place."""
    import ctypes
    timer = ctypes.c_void_p()
    return _libc_call("timer_create", 1, None, ctypes.byref(timer))  # CLOCK_MONOTONIC


def _fiosetown_other(q):
    """The same through the socket ioctl, on the channel (the only socket)."""
    import fcntl
    import struct
    fd = next(fd for fd in range(64) if _is_socket(fd))
    return fcntl.ioctl(fd, 0x8901, struct.pack("i", int(q["victim"])))  # FIOSETOWN


def _host_interfaces(q):
    """Lists the host's network interfaces and their addresses through a
    socket ioctl on the channel (the only socket)."""
    import array
    import fcntl
    import struct
    fd = next(fd for fd in range(64) if _is_socket(fd))
    names = array.array("B", bytes(40 * 32))
    ifc = struct.pack("iL", len(names), names.buffer_info()[0])
    size = struct.unpack("iL", fcntl.ioctl(fd, 0x8912, ifc))[0]  # SIOCGIFCONF
    return names.tobytes()[:size]


def _lease(q):
    """Takes a read lease on an app file: whoever opens it for writing
    waits for the instance."""
    import fcntl
    with open(os.path.join(APP, "app.yaml")) as f:
        return fcntl.fcntl(f.fileno(), fcntl.F_SETLEASE, fcntl.F_RDLCK)


def _pid_exists(q):
    """Whether another process's pid (the zygote's) exists, through the
    os and fcntl modules: NS_GET_TGID_IN_PIDNS on the instance's own pid
    namespace looks any thread id up, with no permission check, and says
    which process it belongs to (ESRCH: none). A kernel before 6.11,
    which lacks it, says ENOTTY."""
    import fcntl
    fd = os.open("/proc/self/ns/pid", os.O_RDONLY)
    try:
        return fcntl.ioctl(fd, 0x8004b709, os.getppid())  # _IOR(NSIO, 0x9, int)
    finally:
        os.close(fd)


_KEPT_OPEN = []


def _record_locks(q):
    """Takes q["n"] read locks on every other byte of an app file and keeps
    the file open (the locks last while it is): each lock the kernel holds
    is memory that no limit of the instance counts. Returns how many were
    asked and the instance's pid, which the host's /proc/locks shows with
    each lock held."""
    import fcntl
    f = open(os.path.join(APP, "app.yaml"), "rb")
    _KEPT_OPEN.append(f)
    n = int(q["n"])
    for i in range(n):
        fcntl.lockf(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB, 1, 2 * (n - i))
    return n, os.getpid()


def _whole_file_lock(q):
    """Takes flock's exclusive lock on an app file (a read-only descriptor
    may) and keeps the file open, so the lock would last while it is."""
    import fcntl
    f = open(os.path.join(APP, "app.yaml"), "rb")
    _KEPT_OPEN.append(f)
    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    return os.getpid()


def _sqlite_file(q):
    """Reads an SQLite database of the app's (SQLite takes read locks)."""
    import sqlite3
    db = sqlite3.connect(os.path.join(APP, "data.db"))
    try:
        return db.execute("select x from t").fetchone()[0]
    finally:
        db.close()


def _sqlite_temp_storage(q):
    """What SQLite keeps in temporary storage: a temporary table, an index
    larger than its cache, a private ("") database larger than its cache."""
    import sqlite3
    rows = [("%06d" % i * 20,) for i in range(20000)]
    db = sqlite3.connect(":memory:")
    db.execute("create temp table t (x)")
    db.executemany("insert into t values (?)", rows)
    db.execute("create index i on t (x)")
    private = sqlite3.connect("")
    private.execute("create table t (x)")
    private.executemany("insert into t values (?)", rows)
    return (db.execute("select count(*) from t").fetchone()[0],
            private.execute("select count(distinct x) from t").fetchone()[0])


def _sqlite_extension(q):
    """Loads the app's evilext.so as an SQLite extension: through the
    connection's load_extension, or (how="sql") SQL's load_extension(),
    which enable_load_extension(True) also turns on and which raises no
    audit event of its own. dlopen runs the library's constructors."""
    import sqlite3
    connection = sqlite3.connect(":memory:")
    connection.enable_load_extension(True)
    path = os.path.join(APP, "evilext.so")
    if q.get("how") == "sql":
        return connection.execute("SELECT load_extension(?)", (path,)).fetchall()
    return connection.load_extension(path)


def _is_socket(fd):
    import stat
    try:
        return stat.S_ISSOCK(os.fstat(fd).st_mode)
    except OSError:
        return False


def _channel_frames(q):
    """Writes q["n"] app log frames of the smallest kind (ipc.h's IPC_LOG:
    no request, debug level, a one-byte message, 21 bytes each) straight to
    the channel's descriptor, 64 KiB at a time: each costs the master far
    more to take than it costs the instance to write."""
    import struct
    fd = next(fd for fd in range(64) if _is_socket(fd))
    frame = struct.pack("<IHHIII", 9, 4, 0, 0, 0, 1) + b"x"
    per_write = 65536 // len(frame)
    n = int(q["n"])
    for at in range(0, n, per_write):
        data = memoryview(frame * min(per_write, n - at))
        while data:
            data = data[os.write(fd, data):]
    return n


def _channel_oob(send):
    """A byte of out-of-band data sent on, or asked of, the channel to the
    master: MSG_OOB on a Unix socket (Linux 5.15+), whose kernel code had a
    use-after-free reached this way (CVE-2025-38236). The master reads no
    out-of-band data, so a byte that goes through is only skipped. Only a
    refusal counts: with nothing pending, recv says EINVAL."""
    fd = next(fd for fd in range(64) if _is_socket(fd))
    s = socket.socket(fileno=fd)
    try:
        if send:
            return _refused(lambda: s.send(b"x", socket.MSG_OOB))
        return _refused(lambda: s.recv(1, socket.MSG_OOB | socket.MSG_DONTWAIT))
    finally:
        s.detach()


def _master_pidfd(q):
    """A pidfd of the master, the channel's other end: SO_PEERPIDFD
    (Linux 6.5) hands one out, and SO_PASSPIDFD one with every message
    read with recvmsg, where pidfd_open is refused. Only a refusal counts."""
    fd = next(fd for fd in range(64) if _is_socket(fd))
    s = socket.socket(fileno=fd)
    try:
        if q.get("how") == "pass":
            return _refused(lambda: s.setsockopt(socket.SOL_SOCKET, 76, 1))  # SO_PASSPIDFD
        return _refused(lambda: s.getsockopt(socket.SOL_SOCKET, 77))  # SO_PEERPIDFD
    finally:
        s.detach()


def _ctypes_by_hand(q):
    """Loads the refused _ctypes from the stdlib's own folder, under the
    name q["as"], with importlib's loader (no import statement), and reads
    memory past a C long through it."""
    import glob
    import importlib.machinery
    import importlib.util
    path = glob.glob(os.path.join(os.path.dirname(os.path.dirname(json.__file__)), "lib-dynload",
                                "_ctypes.*.so"))[0]
    loader = importlib.machinery.ExtensionFileLoader(q["as"], path)
    spec = importlib.util.spec_from_file_location(q["as"], path, loader=loader)
    _ctypes = importlib.util.module_from_spec(spec)

    class c_long(_ctypes._SimpleCData):
        _type_ = "l"

    class p_long(_ctypes._Pointer):
        _type_ = c_long
    p = p_long(c_long(42))
    return [p[i] for i in range(4)]


def _extension_file(q):
    """Loads the app's file q["file"] as the C extension q["as"] with
    importlib's loader (no import statement)."""
    import importlib.machinery
    import importlib.util
    path = os.path.join(APP, q["file"])
    loader = importlib.machinery.ExtensionFileLoader(q["as"], path)
    spec = importlib.util.spec_from_file_location(q["as"], path, loader=loader)
    return repr(importlib.util.module_from_spec(spec))


def _stdlib_test_module(q):
    """One of CPython's test modules (Debian ships them in lib-dynload):
    _testcapi writes files and runs code objects with no audit event."""
    return __import__(q["module"]).__name__


def _undeclared_extension(q):
    """Debian's _cffi_backend (python3-cffi; no app.yaml library provides
    it) through a sys.path edit, around the libraries: finder: with cffi
    the app could call libc and run machine code, as with ctypes."""
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import _cffi_backend
    finally:
        sys.path.pop()
    return _cffi_backend.__name__


def _declared_extensions(q):
    """The C extensions of the libraries python27 enables by default:
    yaml's (libyaml) and markupsafe's (werkzeug's dependency)."""
    import markupsafe._speedups
    import yaml
    return yaml.__with_libyaml__, markupsafe._speedups.__name__


def _not_found(call):
    """A missing file of the app's own is the kernel's plain ENOENT, not
    a sandbox refusal."""
    try:
        call()
    except FileNotFoundError as e:
        return "not found: %s" % e.strerror
    return "found"


def _refused(call):
    """Runs call on a descriptor the master handed down; only a refusal
    (EPERM, EACCES, the hook's PermissionError) counts: another error means
    the kernel would have let a file through (the test's stderr is a pipe)."""
    try:
        return call()
    except OSError as e:
        if isinstance(e, PermissionError) or e.errno in (errno.EPERM, errno.EACCES):
            raise
        return "not refused: %s" % e


def _multiprocessing(q):
    import multiprocessing
    p = multiprocessing.Process(target=os.getpid)
    p.start()
    p.join()
    return p.exitcode


def _import_ext(q):
    import evilext
    return repr(evilext)


def _tempfile(q):
    with tempfile.TemporaryFile() as f:
        f.write(b"in memory")
        f.seek(0)
        data = f.read().decode()
    with tempfile.TemporaryFile("w+") as f:
        f.write(" too")
        f.seek(0)
        data += f.read()
    with tempfile.SpooledTemporaryFile(max_size=4) as f:
        f.write(b", rolled over")
        f.seek(0)
        data += f.read().decode()
    return data


def _address_limit(q):
    with open("/proc/self/limits") as f:
        for line in f:
            if line.startswith("Max address space"):
                return line.split()[3]
    raise LookupError("no address-space line in /proc/self/limits")


def _channel_garbage(q):
    """Writes a frame header claiming 4 GiB to the channel to the master."""
    import stat
    for fd in range(64):
        try:
            is_socket = stat.S_ISSOCK(os.fstat(fd).st_mode)
        except OSError:
            continue
        if is_socket:
            return os.write(fd, b"\xff" * 12)
    raise LookupError("no socket among the open descriptors")


def _threads(q):
    out = []
    t = threading.Thread(target=lambda: out.append("thread ran"))
    t.start()
    t.join()
    return out[0]


def _many_threads(q):
    """Starts threads that wait until released, until one cannot start or
    there are `n`; then lets them all end."""
    release = threading.Event()
    started, error = [], None
    old = threading.stack_size(65536)
    try:
        for _ in range(int(q["n"])):
            t = threading.Thread(target=release.wait)
            t.start()
            started.append(t)
    except RuntimeError as e:
        error = str(e)
    finally:
        threading.stack_size(old)
        release.set()
        for t in started:
            t.join()
    return {"started": len(started), "error": error}


def _seek_stderr(q):
    """Writes a line to the real stderr, then tries to seek back over what
    the server logged before it."""
    sys.__stderr__.write("py:%s\n" % q["mark"])
    sys.__stderr__.flush()
    os.write(2, b"raw:%s\n" % q["mark"].encode())
    os.lseek(2, 0, os.SEEK_SET)
    return os.write(2, b"OVERWRITTEN")


def _flood_stderr(q):
    """Writes `mb` MiB of `width`-byte lines (100; 1: empty lines) to the
    real stderr."""
    line = "f" * (int(q.get("width", 100)) - 1) + "\n"
    for _ in range(int(q["mb"]) * 1024 * 1024 // len(line)):
        sys.__stderr__.write(line)
    sys.__stderr__.flush()
    return "flooded"


def _write_stderr(q):
    """Writes `text` `n` times, then `end`, to fd 2 in one write (Python
    escapes allowed: "\\x00")."""
    def raw(s):
        return s.encode("latin-1").decode("unicode_escape").encode("latin-1")
    return os.write(2, raw(q["text"]) * int(q.get("n", 1)) + raw(q.get("end", "")))


def _proc_net(q):
    """What /proc/self/net and the calling thread's own net folder show:
    the paths of Unix sockets, TCP and UDP ports (none when hidden)."""
    unix, ports = [], []
    for folder in ("/proc/self/net", "/proc/self/task/%d/net" % threading.get_native_id()):
        try:
            with open(folder + "/unix") as f:
                unix += [line.split()[7] for line in list(f)[1:] if len(line.split()) > 7]
        except FileNotFoundError:
            pass
        for name in ("tcp", "tcp6", "udp", "udp6"):
            try:
                with open(folder + "/" + name) as f:
                    ports += [int(line.split()[1].rsplit(":", 1)[1], 16) for line in list(f)[1:]]
            except FileNotFoundError:
                continue
    return {"unix": unix, "ports": ports}


def _open_fds(q):
    """Each open descriptor and what /proc/self/fd says it is."""
    fds = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds[int(fd)] = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            continue  # the listing's own descriptor, closed by now
    return fds


def _queue_signals(q):
    """Queues up to q["n"] real-time signals at this thread (blocked, so
    they stay pending), then takes them back. Pending signals count
    against one quota for all processes of the uid. Returns how many the
    kernel queued before it said no."""
    sig = signal.SIGRTMIN
    signal.pthread_sigmask(signal.SIG_BLOCK, {sig})
    queued = 0
    try:
        for _ in range(int(q["n"])):
            signal.pthread_kill(threading.get_ident(), sig)
            queued += 1
    except OSError:
        pass
    finally:
        while signal.sigtimedwait({sig}, 0):
            pass
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})
    return queued


def _real_time(q):
    """SCHED_FIFO for this thread (put back at once), else the refusal."""
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    return "SCHED_FIFO"


def _priority_limits(q):
    import resource
    return [resource.getrlimit(resource.RLIMIT_RTPRIO), resource.getrlimit(resource.RLIMIT_NICE)]


def _lazy_import(name, use):
    """Whether name was loaded before, and use(module) after importing it
    now: a C extension from lib-dynload whose libraries the dynamic loader
    finds through /etc/ld.so.cache."""
    loaded = name in sys.modules
    return loaded, use(__import__(name))


ATTEMPTS = {
    # SB1: no writes anywhere
    "write_app": lambda q: open(os.path.join(APP, "written.txt"), "w").write("x"),
    "write": lambda q: open(q["path"], "w").write("x"),
    "append": lambda q: open(q["path"], "a").write("x"),
    "os_open": lambda q: os.open(q["path"], os.O_WRONLY | os.O_CREAT, 0o644),
    "mkdir": lambda q: os.mkdir(q["path"]),
    "remove": lambda q: os.remove(q["path"]),
    "rename": lambda q: os.rename(q["path"], q["path"] + ".moved"),
    "symlink": lambda q: os.symlink("/etc/passwd", q["path"]),
    "chmod": lambda q: os.chmod(q["path"], 0o777),
    "proc_mem": lambda q: open("/proc/self/mem", "r+b"),
    "mkfifo": lambda q: os.mkfifo(q["path"]),
    "mknod": lambda q: os.mknod(q["path"]),
    "mkfifo_app": lambda q: os.mkfifo(os.path.join(APP, "written.txt")),
    "memfd": lambda q: os.memfd_create("x"),
    "named_tempfile": lambda q: tempfile.NamedTemporaryFile().name,
    "shelve": lambda q: __import__("shelve").open(q["path"]),
    "shelve_app": lambda q: __import__("shelve").open(os.path.join(APP, "written.txt")),
    "read_outside": lambda q: open(q["path"]).read(),
    "read_outside_path": lambda q: pathlib.Path(q["path"]).read_bytes(),
    "read_outside_dotdot": lambda q: open(APP + "/../../../../../../../" + q["path"]).read(),
    # relative to the working folder, the app's root
    "read_outside_relative": lambda q: open(os.path.relpath(q["path"])).read(),
    "list_outside_relative": lambda q: os.listdir(os.path.relpath(os.path.dirname(q["path"]))),
    "list_outside": lambda q: os.listdir(os.path.dirname(q["path"])),
    "stat_outside": lambda q: os.stat(q["path"]).st_size,
    "readlink_outside": lambda q: os.readlink(q["path"]),
    # SB2: no sockets
    "connect": lambda q: str(socket.create_connection(("127.0.0.1", int(q["port"])), 2)),
    "udp": lambda q: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(
        b"x", ("127.0.0.1", int(q["port"]))),
    "socketpair": lambda q: str(socket.socketpair()),
    "raw_socketpair": lambda q: str(_socket.socketpair()),
    "getaddrinfo": lambda q: str(socket.getaddrinfo("localhost", 80)),
    # SB3: no processes, no signals to others
    "subprocess": lambda q: subprocess.run(["/bin/sleep", q["token"]]).returncode,
    "system": lambda q: _check_status("os.system", os.system("/bin/sleep " + q["token"])),
    "fork": lambda q: _fork(),
    "posix_spawn": lambda q: os.posix_spawn("/bin/sleep", ["sleep", q["token"]], {}),
    "execv": lambda q: os.execv("/bin/sleep", ["sleep", q["token"]]),
    "fork_exec": _fork_exec,
    "channel_garbage": _channel_garbage,
    "kill_zygote": lambda q: os.kill(os.getppid(), signal.SIGCONT),
    "killpg": lambda q: os.killpg(os.getpgid(0), signal.SIGCONT),
    "pidfd_open": lambda q: os.pidfd_open(os.getppid()),
    "cpu_clock_other": _cpu_clock_other,
    "peer_pidfd": _master_pidfd,
    "pass_pidfd": lambda q: _master_pidfd({"how": "pass"}),
    "prlimit_zygote": _prlimit_zygote,
    "truncate_stderr": lambda q: _refused(lambda: os.ftruncate(2, 0)),
    "fallocate_stderr": lambda q: _refused(lambda: os.posix_fallocate(2, 0, 1 << 20)),
    # SB4: nothing shared with other processes
    "sysv_shm": _sysv_shm,
    "sysv_msg": lambda q: _libc_call("msgget", 0, 0o1600),
    "sysv_sem": lambda q: _libc_call("semget", 0, 1, 0o1600),
    "inotify": _inotify,
    "aio": _aio_context,
    "hugetlb": _hugetlb,
    "epoll": _epoll,
    "chroot": _chroot,
    "setuid": _setuid,
    "setgroups": _setgroups,
    "clock_settime": _clock_settime,
    "splice_file": lambda q: _pipe_pages(dict(q, call="splice")),
    "sendfile_pipe": lambda q: _pipe_pages(dict(q, call="sendfile")),
    "vmsplice": _vmsplice,
    "thread_own_fds": _thread_own_fds,
    "page_cache_nowait": _page_cache_nowait,
    "page_cache_drop": _page_cache_drop,
    "mapped_elsewhere": _mapped_elsewhere,
    "default_selector": _default_selector,
    # the host's disks, kept busy by a loop of these (os.sync says nothing:
    # sync() returns no error)
    "sync": lambda q: _libc_call("syscall", 162),  # SYS_sync
    "syncfs": _syncfs,
    "quotactl_sync": _quotactl_sync,
    "fsync_loop": _fsync_loop,
    # READ_IMPLIES_EXEC: every readable mapping executable
    "personality": lambda q: _libc_call("personality", 0x0400000),
    "modify_ldt": _modify_ldt,
    # kernel memory outside the instance's limit, and a host-wide quota
    "seccomp_filter": _seccomp_filter,
    "seccomp_prctl": lambda q: _seccomp_filter({"how": "prctl"}),
    "landlock_ruleset": _landlock_ruleset,
    "futex_hash": _futex_hash,
    "notification_pipe": _notification_pipe,
    "ksm_madvise": _ksm,
    "ksm_prctl": lambda q: _ksm({"how": "prctl"}),
    "fscrypt_add_key": _fscrypt_key,
    "fscrypt_remove_key": lambda q: _fscrypt_key({"how": "remove"}),
    # getpid through x32's numbers, another ABI the filter's rules do not see
    "x32_getpid": lambda q: _libc_call("syscall", 0x40000000 | 39),
    # SB4: what the host's other processes are (the zygote here; any pid
    # answered, whatever its uid, so which pids exist), what a hidden /proc
    # keeps from the app
    "pgid_other": lambda q: os.getpgid(os.getppid()),
    "sid_other": lambda q: os.getsid(os.getppid()),
    # a thread id of another process (q["tid"]): EINVAL said it exists
    "setpgid_other": lambda q: os.setpgid(int(q["tid"]), 0),
    "priority_other": lambda q: os.getpriority(os.PRIO_PROCESS, os.getppid()),
    "priority_user": lambda q: os.getpriority(os.PRIO_USER, 0),
    "affinity_read_other": lambda q: os.sched_getaffinity(os.getppid()),
    "scheduler_read_other": lambda q: os.sched_getscheduler(os.getppid()),
    "sched_param_read_other": lambda q: os.sched_getparam(os.getppid()),
    "rr_interval_other": lambda q: os.sched_rr_get_interval(os.getppid()),
    # the same through ctypes (the import is refused when armed): ioprio_get
    # (252) of a pid, capget (125) of a pid, which the filter cannot see
    "ioprio_read_other": lambda q: _libc_call("syscall", 252, 1, os.getppid()),
    "capget_other": _capget_other,
    "futex_pi": _futex_pi,
    "pid_exists": _pid_exists,
    "page_cache_mincore": _page_cache,
    "page_cache_cachestat": lambda q: _page_cache({"how": "cachestat"}),
    "ustat": _ustat,
    # SB4: other processes of the uid (other apps' instances, the server)
    # are not slowed, pinned or starved; SB3: nor signalled as a file's owner
    "renice_other": lambda q: os.setpriority(os.PRIO_PROCESS, int(q["victim"]), 10),
    "renice_group": lambda q: os.setpriority(os.PRIO_PGRP, 0, 10),
    "sched_idle_other": lambda q: os.sched_setscheduler(int(q["victim"]), os.SCHED_IDLE,
                                                        os.sched_param(0)),
    "sched_param_other": lambda q: os.sched_setparam(int(q["victim"]), os.sched_param(0)),
    "affinity_other": lambda q: os.sched_setaffinity(int(q["victim"]),
                                                     {min(os.sched_getaffinity(0))}),
    "ioprio_other": lambda q: _libc_call("syscall", 251, 1, int(q["victim"]), 3 << 13),
    "setown_other": _setown_other,
    "fiosetown_other": _fiosetown_other,
    "lease": _lease,
    "rt_file_signal": _rt_file_signal,
    "posix_timer": _posix_timer,
    "direct_io": _direct_io,
    "direct_io_later": _direct_io_later,
    "record_locks": _record_locks,
    "whole_file_lock": _whole_file_lock,
    "host_interfaces": _host_interfaces,
    "channel_frames": _channel_frames,
    "channel_oob_send": lambda q: _channel_oob(True),
    "channel_oob_recv": lambda q: _channel_oob(False),
    "multiprocessing": _multiprocessing,
    # SB5: no C code the app brings
    "import_ext": _import_ext,
    "ctypes_load": _ctypes_load,
    "ctypes_system": _ctypes_system,
    "ctypes_by_hand": _ctypes_by_hand,
    "extension_file": _extension_file,
    "undeclared_extension": _undeclared_extension,
    "stdlib_test_module": _stdlib_test_module,
    # what must keep working
    "declared_extensions": _declared_extensions,
    "tempfile": _tempfile,
    "threads": _threads,
    "many_threads": _many_threads,
    "seek_stderr": _seek_stderr,
    "flood_stderr": _flood_stderr,
    "write_stderr": _write_stderr,
    "sqlite_file": _sqlite_file,
    "sqlite_extension": _sqlite_extension,
    "sqlite_extension_sql": lambda q: _sqlite_extension({"how": "sql"}),
    "sqlite_extension_off": lambda q: __import__("sqlite3").connect(":memory:")
        .enable_load_extension(False),
    "sqlite_temp_storage": _sqlite_temp_storage,
    "read_own": lambda q: open(os.path.join(APP, "app.yaml")).read().split("\n")[0],
    "read_system": lambda q: (open("/proc/self/status").read().split()[0],
                              len(open(json.__file__).read()) > 0,
                              len(os.listdir(APP)) > 0, len(os.listdir("/usr/lib")) > 0),
    # the modules CPython freezes into itself have their file, as in a
    # plain Python, and it reads
    "stdlib_frozen_files": lambda q: (os.__file__, codecs.__file__,
                                      open(os.__file__).readline().strip()),
    "read_missing_own": lambda q: _not_found(lambda: open(os.path.join(APP, "missing.txt"))),
    "decimal": lambda q: str(__import__("decimal").Decimal("1.10") + 1),
    "kill_self": lambda q: os.kill(os.getpid(), 0),
    "prlimit_self": _prlimit_self,
    "renice_self": lambda q: (os.setpriority(os.PRIO_PROCESS, os.getpid(), 1),
                              os.getpriority(os.PRIO_PROCESS, 0),
                              os.sched_setaffinity(os.getpid(), os.sched_getaffinity(0))),
    "pid": lambda q: os.getpid(),
    # what the instance may read of itself, named as 0 or by its pid
    "proc_info_self": lambda q: (
        os.getpgid(0) == os.getpgid(os.getpid()) == os.getpgrp(),
        os.getsid(0) == os.getsid(os.getpid()),
        os.getpriority(os.PRIO_PROCESS, os.getpid()) == os.getpriority(os.PRIO_PROCESS, 0),
        os.sched_getaffinity(os.getpid()) == os.sched_getaffinity(0),
        os.sched_getscheduler(os.getpid()) == os.sched_getscheduler(0),
        os.sched_getparam(os.getpid()) == os.sched_getparam(0),
        os.sched_rr_get_interval(os.getpid()) == os.sched_rr_get_interval(0)),
    "zoneinfo": lambda q: str(datetime.datetime(2024, 1, 15, tzinfo=zoneinfo.ZoneInfo(
        "Europe/Paris")).utcoffset()),
    "mimetypes": lambda q: mimetypes.guess_type("feed.atom")[0],
    "dev_urandom": lambda q: (len(open("/dev/urandom", "rb").read(16)), len(os.urandom(16))),
    "cpu_count": lambda q: (os.cpu_count(), os.sysconf("SC_NPROCESSORS_CONF")),
    "cpu_vulnerabilities": lambda q: _not_found(
        lambda: os.listdir("/sys/devices/system/cpu/vulnerabilities")),
    "lazy_sqlite3": lambda q: _lazy_import(
        "_sqlite3", lambda m: __import__("sqlite3").connect(":memory:").execute(
            "select 6 * 7").fetchone()[0]),
    "lazy_ssl": lambda q: _lazy_import("_ssl", lambda m: m.OPENSSL_VERSION.split()[0]),
    "proc_net": _proc_net,
    "open_fds": _open_fds,
    "exe": lambda q: os.readlink("/proc/self/exe"),
    "cgroups": lambda q: open("/proc/self/cgroup").read(),
    "mounts": lambda q: sorted(line.split()[4] for line in open("/proc/self/mountinfo")),
    "exit": lambda q: os._exit(3),
    "queue_signals": _queue_signals,
    "real_time": _real_time,
    "raise_priority": lambda q: os.setpriority(os.PRIO_PROCESS, 0, -5),
    "priority_limits": _priority_limits,
    # SB4: memory
    "allocate": lambda q: len(bytearray(int(q["mb"]) << 20)),
    "address_limit": _address_limit,
}


def app(environ, start_response):
    name = environ["PATH_INFO"].rsplit("/", 1)[-1]
    # A byte that is no UTF-8 (%80) is a lone surrogate, as in os's names.
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""), errors="surrogateescape"))
    try:
        result = {"done": repr(ATTEMPTS[name](q))}
    except BaseException as e:  # the refusal is what the test looks at
        result = {"caught": type(e).__name__, "message": str(e)}
    body = json.dumps(result).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
