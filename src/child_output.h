/* What zygotes and instances write on their stdout and stderr (the
 * runtime's reasons for exiting, CPython's fatal errors, an app's writes to
 * sys.__stderr__) reaches the console as the master's own lines. They get
 * the write end of one pipe for both, never the server's fds: on those an
 * instance could seek and overwrite a console log file, or block forever on
 * a pipe or terminal nobody reads, where the master drops lines instead
 * (log.c). Runs in the master's event loop. */
#ifndef GAELIC_CHILD_OUTPUT_H
#define GAELIC_CHILD_OUTPUT_H

#include "loop.h"

typedef struct child_output child_output_t;

/* NULL (errno set) when the pipe cannot be made. */
child_output_t *child_output_open(loop_t *loop);
/* The pipe's write end, to become a zygote's fds 1 and 2 (close-on-exec
 * here; posix_spawn's dup2 clears that on the copies). */
int child_output_fd(const child_output_t *c);
/* Shows what is still in the pipe, then closes it. c may be NULL. */
void child_output_close(child_output_t *c);

#endif
