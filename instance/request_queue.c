#include "request_queue.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include "channel_reader.h"

/* How long the runner may go without starting or ending a request before
 * the reader thread takes the channel over: the interpreter's own switch
 * interval, so a long request shares the instance as it would have under
 * the GIL alone. */
#define STALL_TICK_NS 5000000L

/* One mutex guards the queue, the read role and the counters; nobody holds
 * it across a read or a Python call, so it is only ever held briefly. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t worker_wake = PTHREAD_COND_INITIALIZER; /* idle workers */
static pthread_cond_t reader_wake = PTHREAD_COND_INITIALIZER; /* the reader thread */
static pthread_cond_t drained = PTHREAD_COND_INITIALIZER;     /* the main thread */
static gaelic_request_t *head, *tail;
static unsigned long running;
static int idle_workers;   /* workers inside rq_pop_wait, not reading */
static int active_workers; /* workers with a request, not in rq_block_begin */
static int role_held;
static int channel_open; /* a spare instance has no channel yet */
static int shutting_down;
static unsigned long progress; /* requests started or ended so far */
static int stalled;            /* the reader saw no progress for a tick */
static int reader_untimed;     /* the reader waits without a tick */
static int workers_wanted;     /* rq_wait_workers_wanted may return */

/* This thread is a worker counted in active_workers; the rq_block_begin
 * calls it is in that have not ended, once one took it off the count (a
 * wait may nest in another: joining a request's threads joins each). */
static __thread int counted_active;
static __thread int blocked;

static int is_drained(void)
{
    return shutting_down && !head && running == 0;
}

/* The first request ended, another came, or the one running waits or
 * runs long: the workers after the first are needed now. */
static void want_workers_locked(void)
{
    if (!workers_wanted) {
        workers_wanted = 1;
        pthread_cond_broadcast(&drained); /* the main thread waits there */
    }
}

static void made_progress_locked(void)
{
    progress++;
    stalled = 0;
}

static void push_locked(gaelic_request_t *r)
{
    r->next = NULL;
    if (tail)
        tail->next = r;
    else
        head = r;
    tail = r;
}

/* The calling worker runs (again): the reader must watch it for stalls,
 * even if someone holds the role now (it may give it up at shutdown while
 * this worker still runs). */
static void became_active_locked(void)
{
    counted_active = 1;
    active_workers++;
    if (reader_untimed)
        pthread_cond_signal(&reader_wake);
}

/* A request starts running on the calling worker; kept: from the worker's
 * own read, which counted it as running already (rq_hold). */
static void started_locked(int kept)
{
    if (!kept)
        running++;
    made_progress_locked();
    if (!counted_active)
        became_active_locked();
}

static gaelic_request_t *pop_locked(void)
{
    gaelic_request_t *r = head;
    if (r) {
        head = r->next;
        if (!head)
            tail = NULL;
        r->next = NULL;
    }
    return r;
}

/* The calling worker stops running requests (for now). */
static void go_inactive_locked(void)
{
    if (counted_active) {
        counted_active = 0;
        active_workers--;
    }
}

/* Called with the lock held when nobody may be left to read the channel
 * or to run what is queued: no worker runs. Wakes whoever can. */
static void hand_over_locked(void)
{
    if (active_workers > 0 || !channel_open)
        return;
    if (!head && role_held)
        return;
    if (idle_workers > 0)
        pthread_cond_signal(&worker_wake);
    else if (!role_held)
        pthread_cond_signal(&reader_wake);
}

void rq_push(gaelic_request_t *r, int from_reader)
{
    pthread_mutex_lock(&lock);
    push_locked(r);
    want_workers_locked();
    if (from_reader && (active_workers == 0 || stalled))
        pthread_cond_signal(&worker_wake);
    pthread_mutex_unlock(&lock);
}

gaelic_request_t *rq_pop_wait(void)
{
    gaelic_request_t *r = NULL;
    int kept = 0;
    pthread_mutex_lock(&lock);
    go_inactive_locked();
    idle_workers++;
    for (;;) {
        if ((r = pop_locked()) || shutting_down)
            break;
        if (role_held || !channel_open) {
            pthread_cond_wait(&worker_wake, &lock);
            continue;
        }
        /* Read the channel ourselves: no hand-off to another thread. */
        role_held = 1;
        idle_workers--;
        pthread_mutex_unlock(&lock);
        r = channel_read();
        pthread_mutex_lock(&lock);
        role_held = 0;
        idle_workers++;
        if ((kept = r != NULL))
            break;
    }
    idle_workers--;
    if (r) {
        /* The role stays vacant while we run: we read again when done. */
        started_locked(kept);
    } else {
        hand_over_locked();
        if (is_drained())
            pthread_cond_broadcast(&drained);
    }
    pthread_mutex_unlock(&lock);
    return r;
}

gaelic_request_t *rq_try_pop(void)
{
    pthread_mutex_lock(&lock);
    gaelic_request_t *r = pop_locked();
    int kept = 0;
    if (!r && !role_held && channel_open && !shutting_down) {
        kept = 1;
        role_held = 1;
        pthread_mutex_unlock(&lock);
        r = channel_read_nowait();
        pthread_mutex_lock(&lock);
        role_held = 0;
        /* Without a request the caller goes on to rq_pop_wait, which takes
         * the role back at once. */
    }
    if (r)
        started_locked(kept);
    pthread_mutex_unlock(&lock);
    return r;
}

void rq_done(void)
{
    pthread_mutex_lock(&lock);
    if (running > 0)
        running--;
    made_progress_locked();
    want_workers_locked();
    if (is_drained())
        pthread_cond_broadcast(&drained);
    pthread_mutex_unlock(&lock);
}

int rq_busy_hint(void)
{
    return __atomic_load_n(&running, __ATOMIC_RELAXED) > 0 ||
           __atomic_load_n(&head, __ATOMIC_RELAXED) != NULL;
}

void rq_hold(void)
{
    pthread_mutex_lock(&lock);
    running++;
    pthread_mutex_unlock(&lock);
}

void rq_block_begin(void)
{
    if (blocked) {
        blocked++; /* only the outermost wait's end makes it run again */
        return;
    }
    if (!counted_active)
        return;
    pthread_mutex_lock(&lock);
    go_inactive_locked();
    blocked = 1;
    want_workers_locked();
    hand_over_locked();
    pthread_mutex_unlock(&lock);
}

void rq_block_end(void)
{
    if (!blocked || --blocked > 0)
        return;
    pthread_mutex_lock(&lock);
    became_active_locked();
    pthread_mutex_unlock(&lock);
}

void rq_channel_opened(void)
{
    pthread_mutex_lock(&lock);
    channel_open = 1;
    pthread_cond_broadcast(&worker_wake);
    pthread_mutex_unlock(&lock);
}

/* With the lock held: 1 when the reader thread must read now. Not while
 * queued requests wait for idle workers: it would block in the read, with
 * nobody left to tick and hand them over, and they would wait for the next
 * frame (for ever, if a running request waits for one of them). */
static int reader_needed_locked(void)
{
    if (role_held || !channel_open)
        return 0;
    if (active_workers == 0)
        return idle_workers == 0;
    return stalled && !(head && idle_workers > 0);
}

static struct timespec next_tick(void)
{
    struct timespec at;
    clock_gettime(CLOCK_MONOTONIC, &at);
    at.tv_nsec += STALL_TICK_NS;
    if (at.tv_nsec >= 1000000000L) {
        at.tv_sec++;
        at.tv_nsec -= 1000000000L;
    }
    return at;
}

/* Waits, ticking while workers are busy: a tick with a worker running but
 * no request started or ended marks the runner stalled. After a whole
 * tick with nothing running the reader stops ticking (an idle instance
 * costs nothing) until a worker runs again. */
void rq_reader_take_role(void)
{
    pthread_mutex_lock(&lock);
    unsigned long seen = progress;
    int ticking = 1;
    struct timespec tick = next_tick();
    while (!reader_needed_locked()) {
        if (!ticking || !channel_open) {
            reader_untimed = 1;
            pthread_cond_wait(&reader_wake, &lock);
            reader_untimed = 0;
            ticking = 1;
            seen = progress;
            tick = next_tick();
            continue;
        }
        if (pthread_cond_clockwait(&reader_wake, &lock, CLOCK_MONOTONIC, &tick) != ETIMEDOUT)
            continue;
        if (progress == seen) {
            if (active_workers == 0) {
                ticking = 0;
            } else if (!role_held) {
                stalled = 1;
                want_workers_locked();
                if (head)
                    pthread_cond_signal(&worker_wake);
            }
        }
        seen = progress;
        tick = next_tick();
    }
    role_held = 1;
    pthread_mutex_unlock(&lock);
}

void rq_reader_release_role(void)
{
    pthread_mutex_lock(&lock);
    role_held = 0;
    hand_over_locked();
    pthread_mutex_unlock(&lock);
}

void rq_begin_shutdown(void)
{
    pthread_mutex_lock(&lock);
    shutting_down = 1;
    pthread_cond_broadcast(&worker_wake);
    pthread_cond_broadcast(&drained); /* rq_wait_shutdown waits there too */
    pthread_mutex_unlock(&lock);
}

int rq_shutting_down(void)
{
    pthread_mutex_lock(&lock);
    int s = shutting_down;
    pthread_mutex_unlock(&lock);
    return s;
}

void rq_wait_shutdown(void)
{
    pthread_mutex_lock(&lock);
    while (!shutting_down)
        pthread_cond_wait(&drained, &lock);
    pthread_mutex_unlock(&lock);
}

void rq_wait_workers_wanted(void)
{
    pthread_mutex_lock(&lock);
    while (!workers_wanted && !shutting_down)
        pthread_cond_wait(&drained, &lock);
    pthread_mutex_unlock(&lock);
}

void rq_wait_drained(void)
{
    pthread_mutex_lock(&lock);
    while (!is_drained())
        pthread_cond_wait(&drained, &lock);
    pthread_mutex_unlock(&lock);
}
