/* Single-threaded event loop: edge-triggered epoll for file descriptors and
 * a binary min-heap of one-shot timers. Watches and timers are embedded in
 * their owners; the loop never allocates or frees them. */
#ifndef GAELIC_LOOP_H
#define GAELIC_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

typedef struct loop loop_t;
typedef struct io_watch io_watch_t;
typedef struct loop_timer loop_timer_t;

typedef void (*io_cb_t)(loop_t *loop, io_watch_t *w, uint32_t events);
typedef void (*timer_cb_t)(loop_t *loop, loop_timer_t *t);

struct io_watch {
    int fd;
    io_cb_t cb;
};

struct loop_timer {
    uint64_t when_ms;
    size_t heap_idx; /* 0 when not armed, else index + 1 */
    timer_cb_t cb;
};

struct loop {
    int epfd;
    int stop;
    uint64_t now_ms; /* monotonic clock, refreshed once per iteration */
    uint64_t now_us; /* the same instant in microseconds (request logs' pending time) */
    loop_timer_t **heap;
    size_t heap_len, heap_cap;
    /* Called after each batch of events and timers: owners free objects
     * they closed during the batch here, since a later event of the same
     * batch may still point at them. */
    void (*after_batch)(loop_t *loop);
};

int loop_init(loop_t *loop);
void loop_close(loop_t *loop);

/* Registers w->fd for `events` (EPOLLIN/EPOLLOUT/...; EPOLLET is added). */
int loop_add(loop_t *loop, io_watch_t *w, uint32_t events);
void loop_del(loop_t *loop, io_watch_t *w);

/* Arms (or re-arms) t to fire once, `ms` from now. */
int loop_timer_start(loop_t *loop, loop_timer_t *t, uint64_t ms);
void loop_timer_stop(loop_t *loop, loop_timer_t *t);
static inline int loop_timer_armed(const loop_timer_t *t)
{
    return t->heap_idx != 0;
}

uint64_t loop_clock_ms(void);
/* CPU time of the calling thread, in ns (what an API call costs the
 * master); 0 if the clock cannot be read. */
uint64_t loop_thread_cpu_ns(void);
void loop_update_time(loop_t *loop);

/* Runs until loop->stop is set. Returns 0, or -1 if epoll fails. */
int loop_run(loop_t *loop);

#endif
