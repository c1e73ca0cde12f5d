#include "instance.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "channel_reader.h"
#include "channel_writer.h"
#include "gaelic_module.h"
#include "ipc.h"
#include "request_queue.h"

#define RUNTIME_MODULE "google.appengine.runtime.dispatch"
#define SHUTDOWN_MODULE "google.appengine.runtime.shutdown_notice"

static void __attribute__((noreturn)) die(const char *what)
{
    fprintf(stderr, "gaelic instance %d: %s: %s\n", (int)getpid(), what, strerror(errno));
    _exit(4);
}

static void __attribute__((noreturn)) die_python(const char *what)
{
    fprintf(stderr, "gaelic instance %d: %s:\n", (int)getpid(), what);
    PyErr_Print();
    _exit(4);
}

/* The zygote may die between fork() and prctl(); then nobody would ever
 * kill us, so check the parent is still the one that forked us. */
static void die_with_zygote(pid_t zygote)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        die("prctl(PR_SET_PDEATHSIG)");
    if (getppid() != zygote)
        _exit(0);
}

/* The master may create its end non-blocking; with socketpair both ends
 * share that flag, and our reader and writers want blocking I/O. */
static void make_blocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_NONBLOCK && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0))
        die("fcntl on the channel");
}

/* RT5: the app root goes first on sys.path, ahead of the runtime and the
 * stdlib, so the app's own modules import the normal way; before it, the
 * folders of import_path (one a line, in sys.path order: what a python3
 * entrypoint's gunicorn --chdir and --pythonpath put there). */
static void put_app_on_path(const char *app_dir, const char *import_path)
{
    PyObject *path = PySys_GetObject("path"); /* borrowed */
    PyObject *dir = PyUnicode_DecodeFSDefault(app_dir);
    if (!path || !PyList_Check(path) || !dir || PyList_Insert(path, 0, dir) < 0)
        die_python("cannot put the app on sys.path");
    Py_DECREF(dir);
    Py_ssize_t at = 0;
    for (const char *p = import_path; p && *p; at++) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        dir = PyUnicode_DecodeFSDefaultAndSize(p, (Py_ssize_t)len);
        if (!dir || PyList_Insert(path, at, dir) < 0)
            die_python("cannot put the entrypoint's folders on sys.path");
        Py_DECREF(dir);
        p += len + (end != NULL);
    }
}

/* Seconds the worker threads get to start. */
#define WORKER_START_TIMEOUT 10

static void worker_start_timed_out(int sig)
{
    (void)sig;
    /* The workers after the first start once the instance is ready: a
     * request may be running, and one that keeps the GIL in C code holds
     * their start up for as long as it does, which is no lack of memory
     * (its deadline is for the master to enforce). Wait on. */
    if (rq_busy_hint()) {
        alarm(WORKER_START_TIMEOUT);
        return;
    }
    static const char msg[] =
        "gaelic instance: its worker threads did not start within 10 s; out of memory? "
        "(--instance_memory or instance_class too small for the app)\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(1);
}

/* CPython's Thread.start() waits for the new thread with no timeout, and a
 * thread that cannot enter Python at all (its first frame needs memory the
 * address-space limit no longer allows) never tells it: the instance would
 * hang, silent, until the master's start timeout. An alarm ends it with a
 * reason instead, unless requests run (or wait): app code holding the GIL
 * can delay the start of the workers after the first. */
static void start_workers(int first, int stop)
{
    struct sigaction sa = {.sa_handler = worker_start_timed_out}, old;
    int armed = sigaction(SIGALRM, &sa, &old) == 0;
    if (armed)
        alarm(WORKER_START_TIMEOUT);
    PyObject *m = PyImport_ImportModule(RUNTIME_MODULE);
    PyObject *r = m ? PyObject_CallMethod(m, "start_workers", "ii", first, stop) : NULL;
    if (armed) {
        alarm(0);
        sigaction(SIGALRM, &old, NULL);
    }
    if (!r)
        die_python("cannot start the worker threads");
    Py_DECREF(r);
    Py_DECREF(m);
}

/* Tells the app the instance is shutting down. Errors are the app's (its
 * hook's): they are reported, and the instance still drains and exits. */
static void shutdown_notice(void)
{
    PyObject *m = PyImport_ImportModule(SHUTDOWN_MODULE);
    PyObject *r = m ? PyObject_CallMethod(m, "notice", NULL) : NULL;
    if (!r)
        PyErr_Print();
    Py_XDECREF(r);
    Py_XDECREF(m);
}

/* Python-level buffers are ours to flush: _exit skips Py_Finalize. */
static void flush_python_stdio(void)
{
    const char *names[] = {"stdout", "stderr"};
    for (size_t i = 0; i < 2; i++) {
        PyObject *f = PySys_GetObject(names[i]);
        PyObject *r = f && f != Py_None ? PyObject_CallMethod(f, "flush", NULL) : NULL;
        if (!r)
            PyErr_Clear();
        Py_XDECREF(r);
    }
}

/* Smallest stack a worker is given, whatever the limit: the channel
 * reader's, which runs no app code, has 256 KiB. */
#define MIN_WORKER_STACK (512u * 1024u)

/* Each thread reserves its whole stack (8 MiB by default, the stack limit)
 * against the address-space limit (--instance_memory), so 1 GiB held about
 * 115 threads: an instance of --threads 1024 could not start its workers
 * and exited. When the workers' default stacks would take more than half
 * of the limit, every thread gets the share that fits instead (never less
 * than MIN_WORKER_STACK); the usual thread counts keep the default. */
static void fit_thread_stacks(void)
{
    struct rlimit as;
    if (getrlimit(RLIMIT_AS, &as) < 0 || as.rlim_cur == RLIM_INFINITY)
        return;
    pthread_attr_t attr;
    size_t size;
    if (pthread_getattr_default_np(&attr) != 0)
        return;
    size_t share = (size_t)(as.rlim_cur / 2 / (rlim_t)gaelic_module_threads());
    share &= ~(size_t)0xffff;
    if (share < MIN_WORKER_STACK)
        share = MIN_WORKER_STACK;
    if (pthread_attr_getstacksize(&attr, &size) == 0 && share < size &&
        pthread_attr_setstacksize(&attr, share) == 0)
        pthread_setattr_default_np(&attr);
    pthread_attr_destroy(&attr);
}

void instance_prepare(const sandbox_conf_t *sandbox, const char *import_path, int chan_fd,
                      pid_t zygote_pid)
{
    die_with_zygote(zygote_pid);
    if (chdir(sandbox->app_dir) < 0)
        die("chdir to the app root");
    put_app_on_path(sandbox->app_dir, import_path);
    /* Still single-threaded: every layer covers every thread to come. */
    if (sandbox_apply(sandbox, chan_fd) < 0)
        _exit(4);
    /* Entering a user namespace (the sandbox, when not root) changes our
     * credentials, which clears the parent-death signal: set it again. */
    die_with_zygote(zygote_pid);
    fit_thread_stacks();
    /* One worker is enough to answer the first request; the others start
     * when more are needed (instance_serve), so a cold start does not wait
     * for them. */
    start_workers(0, 1);
}

void instance_serve(int chan_fd, const char *instance_id)
{
    if (prctl(PR_SET_NAME, "gaelic-instance") < 0)
        die("prctl(PR_SET_NAME)");
    make_blocking(chan_fd);
    if (gaelic_module_set_instance_id(instance_id) < 0)
        die_python("cannot set the instance id");
    channel_writer_init(chan_fd);
    if (channel_reader_start(chan_fd) < 0)
        die("cannot start the channel reader");
    if (channel_send_empty(IPC_READY, 0, &gaelic_gil_hooks) < 0)
        die("cannot send IPC_READY");
    /* The first request runs alone: started beside it, the other workers
     * took the GIL from it, 2-3 ms of a cold start's first response. */
    PyThreadState *ts = PyEval_SaveThread();
    rq_wait_workers_wanted();
    PyEval_RestoreThread(ts);
    start_workers(1, gaelic_module_threads());

    /* Workers and the reader do the work; this thread waits, without the
     * GIL, for the shutdown notice, delivers it to the app (the shutdown
     * hook, BK4), then waits for the running requests to drain. */
    ts = PyEval_SaveThread();
    rq_wait_shutdown();
    PyEval_RestoreThread(ts);
    shutdown_notice();
    ts = PyEval_SaveThread();
    rq_wait_drained();
    PyEval_RestoreThread(ts);
    flush_python_stdio();
    _exit(0);
}
