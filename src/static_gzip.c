#include "static_gzip.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "gzip.h"
#include "log.h"

/* Few entries: a linear scan costs less than the deflate it saves. */
#define SLOTS 64

typedef struct {
    struct stat st; /* the file version it was made from (same_version) */
    int shrank;     /* 0: compressing did not pay */
    int gz_fd;      /* with shrank: a sealed memfd holding the stream */
    size_t gz_len;
    uint64_t used; /* last use, for eviction; 0 = free slot */
} entry_t;

static entry_t slots[SLOTS];
static uint64_t clock_tick;
static size_t cached_bytes;

/* One version of one file: a rewrite changes its change times. */
static int same_version(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int same_file(const entry_t *e, const struct stat *st)
{
    return e->used && same_version(&e->st, st);
}

static void drop(entry_t *e)
{
    cached_bytes -= e->gz_len;
    if (e->shrank)
        close(e->gz_fd); /* the answers still sending it hold their own fd */
    memset(e, 0, sizeof *e);
}

/* A free slot, after evicting the least recently used entries until `need`
 * more bytes fit. */
static entry_t *make_room(size_t need)
{
    for (;;) {
        entry_t *free_slot = NULL, *oldest = NULL;
        for (int i = 0; i < SLOTS; i++) {
            if (!slots[i].used)
                free_slot = free_slot ? free_slot : &slots[i];
            else if (!oldest || slots[i].used < oldest->used)
                oldest = &slots[i];
        }
        if (free_slot && cached_bytes + need <= STATIC_GZIP_CACHE_BYTES)
            return free_slot;
        if (!oldest)
            return free_slot;
        drop(oldest);
    }
}

static int read_whole(int fd, size_t size, char *out)
{
    size_t got = 0;
    while (got < size) {
        ssize_t n = pread(fd, out + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1; /* an error, or the file shrank */
        got += (size_t)n;
    }
    return 0;
}

/* The gzip stream of the file's size bytes into gz: 0, or -1 (gz empty)
 * when it could not be read or compressed, or *cancel was set. */
static int compress_file(int fd, size_t size, buf_t *gz, const atomic_int *cancel)
{
    char *plain = malloc(size);
    int rc = plain && read_whole(fd, size, plain) == 0 &&
                     gzip_compress_cancellable(plain, size, gz, cancel) == 0
                 ? 0
                 : -1;
    free(plain);
    if (rc < 0)
        buf_free(gz);
    return rc;
}

/* A memfd holding the len bytes at p, sealed so that they cannot change
 * while answers send them; -1 when that failed. */
static int memfd_of(const char *p, size_t len)
{
    int fd = memfd_create("gaelic-static-gzip", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1;
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Keeps gz (the file st's stream) in the cache, which has no entry for
 * that version (static.c looks first, and one compression of a version
 * serves every request for it), and sets *fd and *len to it: 1, or 0
 * when it does not shrink the file (remembered too), or -1 when memory ran
 * out. It is kept in a memfd, which each answer sends with sendfile as it
 * sends a file: an answer holds no copy of its own, however long its
 * client takes to read it. */
static int store(const struct stat *st, const buf_t *gz, int *fd, size_t *len)
{
    size_t size = (size_t)st->st_size;
    /* Says when the cache is too small for the files served. */
    log_debug("static gzip: compressed a file of %zu bytes (inode %lu) to %zu", size,
              (unsigned long)st->st_ino, gz->len);
    /* Not smaller: remembered as not worth it. */
    int shrank = gz->len < size, kept = -1;
    if (shrank && (kept = memfd_of(buf_ptr(gz), gz->len)) < 0)
        return -1;
    size_t kept_len = shrank ? gz->len : 0;
    entry_t *e = make_room(kept_len);
    e->st = *st;
    e->shrank = shrank;
    e->gz_fd = kept;
    e->gz_len = kept_len;
    e->used = ++clock_tick;
    cached_bytes += kept_len;
    *fd = kept;
    *len = kept_len;
    return shrank;
}

int static_gzip_fits(const struct stat *st)
{
    return st->st_size > 0 && (size_t)st->st_size <= STATIC_GZIP_MAX_FILE;
}

int static_gzip_cached(const struct stat *st, int *fd, size_t *len)
{
    for (int i = 0; i < SLOTS; i++) {
        if (same_file(&slots[i], st)) {
            slots[i].used = ++clock_tick;
            *fd = slots[i].shrank ? slots[i].gz_fd : -1;
            *len = slots[i].gz_len;
            return slots[i].shrank;
        }
    }
    return -1;
}

int static_gzip_body(int fd, const struct stat *st, int *gz_fd, size_t *len)
{
    if (!static_gzip_fits(st))
        return -1;
    static const atomic_int never = 0;
    buf_t gz = BUF_INIT;
    if (compress_file(fd, (size_t)st->st_size, &gz, &never) < 0)
        return -1;
    int rc = store(st, &gz, gz_fd, len);
    buf_free(&gz);
    return rc;
}

/* One request waiting for a compression. */
struct static_gzip_task {
    struct compression *c;
    void (*ready)(void *owner);
    void *owner;
    static_gzip_task_t *next;
};

/* The compression of one version of a file, for every request that waits
 * for it: requests for a file being compressed wait for that compression
 * instead of starting another. */
typedef struct compression {
    thread_job_t job; /* must stay first */
    int fd;
    struct stat st;
    buf_t gz; /* empty: it could not be compressed */
    static_gzip_task_t *waiters;
    int finishing;            /* its waiters are being told: it is no longer dropped */
    struct compression *next; /* in `pending` */
} compression_t;

/* The compressions queued or running for some request, in the loop. */
static compression_t *pending;

static void unlink_pending(compression_t *c)
{
    for (compression_t **pp = &pending; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            return;
        }
}

static void task_run(thread_job_t *j)
{
    compression_t *c = (compression_t *)j;
    compress_file(c->fd, (size_t)c->st.st_size, &c->gz, &j->dropped);
}

static void task_finish(thread_job_t *j)
{
    compression_t *c = (compression_t *)j;
    unlink_pending(c);
    c->finishing = 1;
    int fd;
    size_t len;
    /* Nothing kept (it failed, or no memory to keep it): the file goes
     * out as it is, as when it does not shrink. */
    if (c->gz.len > 0)
        store(&c->st, &c->gz, &fd, &len);
    /* One at a time: a ready may cancel a waiter still listed. */
    while (c->waiters) {
        static_gzip_task_t *t = c->waiters;
        c->waiters = t->next;
        void (*ready)(void *owner) = t->ready;
        void *owner = t->owner;
        free(t);
        ready(owner);
    }
}

static void task_release(thread_job_t *j)
{
    compression_t *c = (compression_t *)j;
    close(c->fd);
    buf_free(&c->gz);
    free(c);
}

static_gzip_task_t *static_gzip_compress(thread_jobs_t *w, int fd, void (*ready)(void *owner),
                                         void *owner)
{
    struct stat st;
    static_gzip_task_t *t = calloc(1, sizeof *t);
    if (!t || fstat(fd, &st) < 0 || !static_gzip_fits(&st)) {
        free(t);
        close(fd);
        return NULL;
    }
    t->ready = ready;
    t->owner = owner;
    for (compression_t *c = pending; c; c = c->next) {
        if (same_version(&c->st, &st)) {
            log_debug("static gzip: waiting for the compression of a file of %lld bytes "
                      "(inode %lu)",
                      (long long)st.st_size, (unsigned long)st.st_ino);
            close(fd);
            t->c = c;
            t->next = c->waiters;
            c->waiters = t;
            return t;
        }
    }
    compression_t *c = calloc(1, sizeof *c);
    if (!c) {
        free(t);
        close(fd);
        return NULL;
    }
    c->job.run = task_run;
    c->job.finish = task_finish;
    c->job.release = task_release;
    c->fd = fd;
    c->st = st;
    c->waiters = t;
    t->c = c;
    c->next = pending;
    pending = c;
    log_debug("static gzip: compressing a file of %lld bytes (inode %lu) in a gzip thread",
              (long long)st.st_size, (unsigned long)st.st_ino);
    thread_jobs_push(w, &c->job, 0);
    return t;
}

void static_gzip_cancel(thread_jobs_t *w, static_gzip_task_t *t)
{
    compression_t *c = t->c;
    for (static_gzip_task_t **pp = &c->waiters; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    free(t);
    if (!c->waiters && !c->finishing) {
        unlink_pending(c);
        thread_jobs_drop(w, &c->job);
    }
}

void static_gzip_clear(void)
{
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].used)
            drop(&slots[i]);
    clock_tick = 0;
}
