/* What zygotes and instances write on their stdout and stderr (the
 * runtime's reasons for exiting, CPython's fatal errors, an app's writes to
 * sys.__stderr__) reaches the console as the master's own lines. They get
 * the write end of a pipe for both, never the server's fds: on those an
 * instance could seek and overwrite a console log file, or block forever on
 * a pipe or terminal nobody reads, where the master drops lines instead
 * (log.c). Runs in the master's event loop.
 *
 * The zygotes share one pipe; each instance gets one of its own, so that
 * its partial lines are never joined to another's and its floods use up
 * only its own share of the console (256 KiB a second per pipe). */
#ifndef GAELIC_CHILD_OUTPUT_H
#define GAELIC_CHILD_OUTPUT_H

#include "loop.h"

typedef struct child_output child_output_t;

/* NULL (errno set) when the pipe cannot be made. who names the writer in
 * the console: lines start with "[who] " ("[instance 3] "); NULL: lines
 * as written. who is copied. */
child_output_t *child_output_open(loop_t *loop, const char *who);
/* The pipe's write end, to become the writer's fds 1 and 2 (close-on-exec
 * here; posix_spawn's dup2 clears that on the copies). */
int child_output_fd(const child_output_t *c);
/* Closes the write end here, once the writer has its own copy: the pipe
 * then ends when the writer does. */
void child_output_close_writer(child_output_t *c);
/* For when the writer has exited or is being killed: c keeps showing what
 * it wrote until the pipe ends (its last partial line too), then frees
 * itself. Until then closing keeper closes c as well. c is not to be used
 * after this call. */
void child_output_release(child_output_t *c, child_output_t *keeper);
/* Shows what is still in the pipe, then closes it, and those released to
 * it. c may be NULL. Not from inside an event of c's (a released output
 * is freed on a timer for that reason). */
void child_output_close(child_output_t *c);

#endif
