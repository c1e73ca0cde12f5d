#include "cgroup_mover.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cpu_cap.h"
#include "thread_cap.h"

typedef enum { JOB_PLACE, JOB_PLACE_ZYGOTE, JOB_RELEASE, JOB_RELEASE_ZYGOTE } job_kind_t;

typedef struct job {
    struct job *next;
    job_kind_t kind;
    cgroup_placed_fn placed; /* NULL: nobody to tell (a removal, or forgotten) */
    /* A move whose process is gone, or is being killed, before it ran: its
     * pid may be reused by the time the thread gets to it. */
    int cancelled;
    cgroup_placement_t p;
    int mhz, max_tasks;
} job_t;

typedef struct {
    job_t *head, **tail;
} job_list_t;

struct cgroup_mover {
    loop_t *loop;
    io_watch_t w; /* the eventfd */
    cpu_cap_t *cpu;
    thread_cap_t *threads;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* guarded by mu: */
    job_list_t todo, done;
    job_t *current; /* what the thread is doing, outside mu */
    int stop;
};

static void list_init(job_list_t *l)
{
    l->head = NULL;
    l->tail = &l->head;
}

static void list_push(job_list_t *l, job_t *j)
{
    j->next = NULL;
    *l->tail = j;
    l->tail = &j->next;
}

static job_t *list_pop(job_list_t *l)
{
    job_t *j = l->head;
    if (j && !(l->head = j->next))
        l->tail = &l->head;
    return j;
}

/* In the mover's thread: the cgroup work of one job. */
static void run(cgroup_mover_t *m, job_t *j)
{
    if (j->cancelled) {
        j->p.cpu_err = j->p.thread_err = ESRCH;
        return;
    }
    switch (j->kind) {
    case JOB_PLACE:
        if (m->cpu && j->mhz > 0 && cpu_cap_add(m->cpu, j->p.pid, j->mhz) < 0)
            j->p.cpu_err = errno;
        if (m->threads && thread_cap_add(m->threads, j->p.pid, j->max_tasks) < 0)
            j->p.thread_err = errno;
        break;
    case JOB_PLACE_ZYGOTE:
        if (m->threads && thread_cap_add_zygote(m->threads, j->p.pid) < 0)
            j->p.thread_err = errno;
        break;
    case JOB_RELEASE:
        if (m->cpu)
            cpu_cap_release(m->cpu, j->p.pid);
        if (m->threads)
            thread_cap_release(m->threads, j->p.pid, 0);
        break;
    case JOB_RELEASE_ZYGOTE:
        if (m->threads)
            thread_cap_release(m->threads, j->p.pid, 1);
        break;
    }
}

static void *mover_main(void *arg)
{
    cgroup_mover_t *m = arg;
    pthread_mutex_lock(&m->mu);
    for (;;) {
        job_t *j = list_pop(&m->todo);
        if (!j) {
            if (m->stop)
                break;
            pthread_cond_wait(&m->cv, &m->mu);
            continue;
        }
        m->current = j;
        pthread_mutex_unlock(&m->mu);
        run(m, j);
        pthread_mutex_lock(&m->mu);
        m->current = NULL;
        if (!j->placed) {
            free(j);
            continue;
        }
        list_push(&m->done, j);
        uint64_t one = 1;
        /* Fails only when the counter is full: the loop is woken anyway. */
        ssize_t woken = write(m->w.fd, &one, sizeof one);
        (void)woken;
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* The loop: reports placements, one at a time (a callback may forget an
 * owner whose reports are still queued). */
static void mover_event(loop_t *loop, io_watch_t *w, uint32_t events)
{
    (void)loop;
    (void)events;
    cgroup_mover_t *m = (cgroup_mover_t *)((char *)w - offsetof(cgroup_mover_t, w));
    uint64_t n;
    while (read(m->w.fd, &n, sizeof n) == (ssize_t)sizeof n)
        ;
    for (;;) {
        pthread_mutex_lock(&m->mu);
        job_t *j = list_pop(&m->done);
        pthread_mutex_unlock(&m->mu);
        if (!j)
            break;
        j->placed(&j->p);
        free(j);
    }
}

static int submit(cgroup_mover_t *m, job_kind_t kind, void *owner, cgroup_placed_fn placed,
                  uint32_t tag, pid_t pid, int mhz, int max_tasks)
{
    job_t *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->kind = kind;
    j->placed = placed;
    j->p.owner = owner;
    j->p.tag = tag;
    j->p.pid = pid;
    j->mhz = mhz;
    j->max_tasks = max_tasks;
    pthread_mutex_lock(&m->mu);
    if (kind == JOB_PLACE_ZYGOTE) {
        /* First: the zygote forks its first spare about 15 ms after exec,
         * and that spare should be born under the server's task total. */
        if (!(j->next = m->todo.head))
            m->todo.tail = &j->next;
        m->todo.head = j;
    } else {
        if (kind == JOB_RELEASE || kind == JOB_RELEASE_ZYGOTE)
            for (job_t *q = m->todo.head; q; q = q->next)
                if (q->p.pid == pid && (q->kind == JOB_PLACE || q->kind == JOB_PLACE_ZYGOTE))
                    q->cancelled = 1;
        list_push(&m->todo, j);
    }
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    return 0;
}

int cgroup_mover_place(cgroup_mover_t *m, void *owner, cgroup_placed_fn placed, uint32_t tag,
                       pid_t pid, int mhz, int max_tasks)
{
    return submit(m, JOB_PLACE, owner, placed, tag, pid, mhz, max_tasks);
}

int cgroup_mover_place_zygote(cgroup_mover_t *m, void *owner, cgroup_placed_fn placed, pid_t pid)
{
    return submit(m, JOB_PLACE_ZYGOTE, owner, placed, 0, pid, 0, 0);
}

void cgroup_mover_release(cgroup_mover_t *m, pid_t pid, int zygote)
{
    /* Without memory the cgroup stays until the server's own goes
     * (cgroup_tree_close removes every child). */
    submit(m, zygote ? JOB_RELEASE_ZYGOTE : JOB_RELEASE, NULL, NULL, 0, pid, 0, 0);
}

void cgroup_mover_forget(cgroup_mover_t *m, void *owner)
{
    pthread_mutex_lock(&m->mu);
    for (job_t *j = m->todo.head; j; j = j->next)
        if (j->p.owner == owner)
            j->placed = NULL;
    if (m->current && m->current->p.owner == owner)
        m->current->placed = NULL;
    job_list_t kept;
    list_init(&kept);
    for (job_t *j; (j = list_pop(&m->done));) {
        if (j->p.owner == owner)
            free(j);
        else
            list_push(&kept, j);
    }
    m->done = kept;
    if (!m->done.head)
        m->done.tail = &m->done.head;
    pthread_mutex_unlock(&m->mu);
}

cgroup_mover_t *cgroup_mover_start(loop_t *loop, cpu_cap_t *cpu, thread_cap_t *threads, char *why,
                                   size_t n)
{
    cgroup_mover_t *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(why, n, "out of memory");
        return NULL;
    }
    m->loop = loop;
    m->cpu = cpu;
    m->threads = threads;
    list_init(&m->todo);
    list_init(&m->done);
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    m->w.cb = mover_event;
    if ((m->w.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
        loop_add(loop, &m->w, EPOLLIN) < 0) {
        snprintf(why, n, "eventfd: %s", strerror(errno));
        goto fail;
    }
    int err = pthread_create(&m->thread, NULL, mover_main, m);
    if (err) {
        snprintf(why, n, "cannot start its thread: %s", strerror(err));
        loop_del(loop, &m->w);
        goto fail;
    }
    return m;
fail:
    if (m->w.fd >= 0)
        close(m->w.fd);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    free(m);
    return NULL;
}

void cgroup_mover_stop(cgroup_mover_t *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    m->stop = 1;
    /* Every process is gone by now: only the removals are left to do. */
    for (job_t *j = m->todo.head; j; j = j->next)
        if (j->kind == JOB_PLACE || j->kind == JOB_PLACE_ZYGOTE)
            j->cancelled = 1;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
    for (job_t *j; (j = list_pop(&m->done));)
        free(j);
    loop_del(m->loop, &m->w);
    close(m->w.fd);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
