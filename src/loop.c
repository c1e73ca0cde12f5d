#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

uint64_t loop_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t loop_thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void loop_update_time(loop_t *loop)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    loop->now_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    loop->now_ms = loop->now_us / 1000u;
}

int loop_init(loop_t *loop)
{
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0)
        return -1;
    loop->stop = 0;
    loop->heap = NULL;
    loop->heap_len = loop->heap_cap = 0;
    loop->after_batch = NULL;
    loop_update_time(loop);
    return 0;
}

void loop_close(loop_t *loop)
{
    if (loop->epfd >= 0)
        close(loop->epfd);
    loop->epfd = -1;
    free(loop->heap);
    loop->heap = NULL;
    loop->heap_len = loop->heap_cap = 0;
}

static int ctl(loop_t *loop, int op, io_watch_t *w, uint32_t events)
{
    struct epoll_event ev = {.events = events | EPOLLET, .data.ptr = w};
    return epoll_ctl(loop->epfd, op, w->fd, &ev);
}

int loop_add(loop_t *loop, io_watch_t *w, uint32_t events)
{
    return ctl(loop, EPOLL_CTL_ADD, w, events);
}

void loop_del(loop_t *loop, io_watch_t *w)
{
    if (w->fd >= 0)
        epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

/* --- timer heap (1-based indices stored in each timer) --- */

static void heap_set(loop_t *loop, size_t i, loop_timer_t *t)
{
    loop->heap[i] = t;
    t->heap_idx = i + 1;
}

static void sift_up(loop_t *loop, size_t i)
{
    loop_timer_t *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (loop->heap[parent]->when_ms <= t->when_ms)
            break;
        heap_set(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_set(loop, i, t);
}

static void sift_down(loop_t *loop, size_t i)
{
    loop_timer_t *t = loop->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= loop->heap_len)
            break;
        if (child + 1 < loop->heap_len &&
            loop->heap[child + 1]->when_ms < loop->heap[child]->when_ms)
            child++;
        if (loop->heap[child]->when_ms >= t->when_ms)
            break;
        heap_set(loop, i, loop->heap[child]);
        i = child;
    }
    heap_set(loop, i, t);
}

void loop_timer_stop(loop_t *loop, loop_timer_t *t)
{
    if (!t->heap_idx)
        return;
    size_t i = t->heap_idx - 1;
    t->heap_idx = 0;
    loop->heap_len--;
    if (i == loop->heap_len)
        return;
    heap_set(loop, i, loop->heap[loop->heap_len]);
    sift_down(loop, i);
    sift_up(loop, loop->heap[i]->heap_idx - 1);
}

int loop_timer_start(loop_t *loop, loop_timer_t *t, uint64_t ms)
{
    loop_timer_stop(loop, t);
    if (loop->heap_len == loop->heap_cap) {
        size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
        loop_timer_t **h = realloc(loop->heap, cap * sizeof *h);
        if (!h)
            return -1;
        loop->heap = h;
        loop->heap_cap = cap;
    }
    t->when_ms = loop->now_ms + ms;
    heap_set(loop, loop->heap_len++, t);
    sift_up(loop, loop->heap_len - 1);
    return 0;
}

static void run_timers(loop_t *loop)
{
    while (loop->heap_len > 0 && loop->heap[0]->when_ms <= loop->now_ms) {
        loop_timer_t *t = loop->heap[0];
        loop_timer_stop(loop, t);
        t->cb(loop, t);
    }
}

int loop_run(loop_t *loop)
{
    struct epoll_event events[256];
    while (!loop->stop) {
        int timeout = -1;
        if (loop->heap_len > 0) {
            uint64_t when = loop->heap[0]->when_ms;
            timeout = when <= loop->now_ms ? 0 : (int)(when - loop->now_ms);
        }
        int n = epoll_wait(loop->epfd, events, 256, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        loop_update_time(loop);
        for (int i = 0; i < n; i++) {
            io_watch_t *w = events[i].data.ptr;
            w->cb(loop, w, events[i].events);
        }
        run_timers(loop);
        if (loop->after_batch)
            loop->after_batch(loop);
    }
    return 0;
}
