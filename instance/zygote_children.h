/* The zygote's table of live instances: pid -> the master's instance
 * number, so ZY_EXITED can name the instance. Pids stay valid until the
 * zygote reaps them, so kill() on a listed pid never hits a stranger. */
#ifndef GAELIC_ZYGOTE_CHILDREN_H
#define GAELIC_ZYGOTE_CHILDREN_H

#include <stdint.h>
#include <sys/types.h>

/* Returns 0, or -1 when memory runs out. */
int children_add(pid_t pid, uint32_t instance_no);

/* Removes pid; returns 0 with its number in *instance_no, or -1 if unknown. */
int children_remove(pid_t pid, uint32_t *instance_no);

/* SIGKILLs every listed child (they are left for init to reap). */
void children_kill_all(void);

#endif
