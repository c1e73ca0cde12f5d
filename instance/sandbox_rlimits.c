#include "sandbox_rlimits.h"

#include <malloc.h>
#include <stddef.h>
#include <sys/resource.h>

/* Enough for the runtime, imports and the app's own reads. */
#define MAX_OPEN_FILES 1024
/* A backstop only: the master's request deadlines stop runaway handlers.
 * Counted over the instance's whole life, so generous (a day, the longest
 * a backend task may run). */
#define MAX_CPU_SECONDS (24 * 3600)
/* Signals queued and not yet taken count against one quota for every
 * process of the uid (other apps' instances, the server): an instance
 * queueing real-time signals at itself could hold all of it. The limit
 * checked is the receiver's, and the runtime queues none; ordinary
 * signals still arrive past it, only their extra information is lost. */
#define MAX_PENDING_SIGNALS 1024
/* Real-time scheduling and raised priority are for no instance, whatever
 * the host grants its user (audio groups, some containers allow
 * SCHED_FIFO): a busy loop at real-time priority starves the machine. */
#define MAX_RT_PRIORITY 0
#define MAX_NICE_RAISE 0

#if defined(__SANITIZE_ADDRESS__)
#define LIMIT_ADDRESS_SPACE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LIMIT_ADDRESS_SPACE 0
#endif
#endif
#ifndef LIMIT_ADDRESS_SPACE
#define LIMIT_ADDRESS_SPACE 1
#endif

int sandbox_limits_address_space(void)
{
    return LIMIT_ADDRESS_SPACE;
}

static int lower(int resource, rlim_t value)
{
    struct rlimit r;
    if (getrlimit(resource, &r) < 0)
        return -1;
    if (r.rlim_max != RLIM_INFINITY && r.rlim_max < value)
        value = r.rlim_max;
    r.rlim_cur = r.rlim_max = value;
    return setrlimit(resource, &r);
}

int sandbox_rlimits(unsigned long long memory_bytes)
{
    /* glibc reserves 64 MiB of address space for each thread's malloc arena;
     * with eight workers that alone would be half of a 1 GiB limit. Threads
     * run Python under the GIL, so sharing two arenas costs little. */
    if (LIMIT_ADDRESS_SPACE &&
        (!mallopt(M_ARENA_MAX, 2) || lower(RLIMIT_AS, (rlim_t)memory_bytes) < 0))
        return -1;
    if (lower(RLIMIT_CORE, 0) < 0 || lower(RLIMIT_NOFILE, MAX_OPEN_FILES) < 0 ||
        lower(RLIMIT_MEMLOCK, 0) < 0 || lower(RLIMIT_MSGQUEUE, 0) < 0 ||
        lower(RLIMIT_CPU, MAX_CPU_SECONDS) < 0 ||
        lower(RLIMIT_SIGPENDING, MAX_PENDING_SIGNALS) < 0 ||
        lower(RLIMIT_RTPRIO, MAX_RT_PRIORITY) < 0 || lower(RLIMIT_NICE, MAX_NICE_RAISE) < 0)
        return -1;
    return 0;
}
