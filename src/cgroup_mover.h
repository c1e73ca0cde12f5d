/* Putting zygotes and instances into their cgroups (cpu_cap.h,
 * thread_cap.h) without stalling the event loop.
 *
 * A write to cgroup.procs waits for an RCU grace period (the kernel's
 * threadgroup lock switching to its slow path) unless another move ran
 * just before: 5-15 ms here per isolated move, during which a master doing
 * it in its loop answered no client. So one thread of the master does
 * every move and every removal of these cgroups, in the order they were
 * asked for (a removal never runs before the move it undoes; a zygote's
 * move goes first), and the loop hears of each placement through an
 * eventfd. A move still waiting when its pid is released is not done (the
 * pid may be reused): its report says ESRCH.
 *
 * Once a mover is started, only it changes the caps' cgroups; what the
 * caps say of themselves (cpu_cap_where, cpu_cap_host_mhz, ...) may still
 * be read in the loop. Everything below is called from the loop thread. */
#ifndef GAELIC_CGROUP_MOVER_H
#define GAELIC_CGROUP_MOVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loop.h"

struct cpu_cap;
struct thread_cap;
typedef struct cgroup_mover cgroup_mover_t;

typedef struct {
    void *owner;  /* as passed to cgroup_mover_place */
    uint32_t tag; /* as passed (the caller's name for this placement); 0 for a zygote */
    pid_t pid;
    /* 0, or the errno that kept pid out of that cap's cgroup (0 too for a
     * cap not asked for or not on) */
    int cpu_err, thread_err;
} cgroup_placement_t;

/* Runs in the loop once the placement is done. */
typedef void (*cgroup_placed_fn)(const cgroup_placement_t *p);

/* A mover for these caps (either may be NULL), or NULL with the reason in
 * why. Its eventfd is watched by loop until cgroup_mover_stop. */
cgroup_mover_t *cgroup_mover_start(loop_t *loop, struct cpu_cap *cpu, struct thread_cap *threads,
                                   char *why, size_t n);

/* Moves instance pid into cgroups of its own: at most mhz worth of CPU
 * (when mhz > 0 and the cpu cap is on) and max_tasks tasks. placed runs
 * afterwards unless owner is forgotten first. 0, or -1 with errno set
 * (ENOMEM: nothing was done). */
int cgroup_mover_place(cgroup_mover_t *m, void *owner, cgroup_placed_fn placed, uint32_t tag,
                       pid_t pid, int mhz, int max_tasks);

/* Moves a zygote into a cgroup of its own under the server's task total;
 * placed reports it with tag 0. 0, or -1 with errno set. */
int cgroup_mover_place_zygote(cgroup_mover_t *m, void *owner, cgroup_placed_fn placed, pid_t pid);

/* pid (an instance or, with zygote set, a zygote) has exited or is being
 * killed: its cgroups go, after any move of it asked for before. */
void cgroup_mover_release(cgroup_mover_t *m, pid_t pid, int zygote);

/* No placed callback runs for owner from now on (its moves and removals
 * still happen). */
void cgroup_mover_forget(cgroup_mover_t *m, void *owner);

/* Does the removals still asked for (no more moves), stops the thread and
 * frees m, without calling back. m may be NULL. The caps can be closed after. */
void cgroup_mover_stop(cgroup_mover_t *m);

#endif
