/* Unit-test helper for code that runs in the event loop (loop.h). */
#ifndef GAELIC_UNIT_LOOP_H
#define GAELIC_UNIT_LOOP_H

#include "loop.h"

static inline void unit_stop_loop(loop_t *l, loop_timer_t *t)
{
    (void)t;
    l->stop = 1;
}

/* Runs loop (its timers and events) for ms. */
static inline void unit_run_for(loop_t *loop, uint64_t ms)
{
    loop_timer_t stop = {.cb = unit_stop_loop};
    loop->stop = 0;
    loop_timer_start(loop, &stop, ms);
    loop_run(loop);
    loop_timer_stop(loop, &stop);
}

#endif
