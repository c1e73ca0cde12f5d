/* What zygotes and instances write on their stdout and stderr (the
 * runtime's reasons for exiting, CPython's fatal errors, an app's writes to
 * sys.__stderr__) reaches the console as the master's own lines. They get
 * the write end of a pipe for both, never the server's fds: on those an
 * instance could seek and overwrite a console log file, or block forever on
 * a pipe or terminal nobody reads, where the master drops lines instead
 * (log.c). Runs in the master's event loop.
 *
 * Each zygote and each instance has a pipe of its own, so that its partial
 * lines are never joined to another's and its lines name it. Two budgets
 * bound what is shown: 256 KiB a second per pipe, so that one flooding
 * writer uses up only its own share, and 512 KiB a second for all of them
 * together (a child_console_t), so that many cannot swamp the console or
 * fill a log file's disk either; the app log lines instances send on their
 * channels count against that too (child_console_take). */
#ifndef GAELIC_CHILD_OUTPUT_H
#define GAELIC_CHILD_OUTPUT_H

#include "loop.h"

typedef struct child_console child_console_t;
typedef struct child_output child_output_t;

/* The server's console as the children share it: the budget of them all,
 * and the pipes of writers that are gone, shown until they end. NULL when
 * out of memory. */
child_console_t *child_console_new(loop_t *loop);
/* Shows what is still in the released pipes, closes them and frees con.
 * Every output is to be released or closed before. con may be NULL. */
void child_console_free(child_console_t *con);

/* The server-wide budget, which the app log lines the console shows
 * (pool.c) share with the pipes: 1 when a line of cost bytes, from a
 * writer that has shown own_shown bytes in its current second, may be
 * shown now (and it is counted), 0 when it is over the budget. */
int child_console_take(child_console_t *con, size_t own_shown, size_t cost);

/* NULL (errno set) when the pipe cannot be made. who names the writer in
 * the console: lines start with "[who] " ("[instance 3] "); copied. */
child_output_t *child_output_open(child_console_t *con, const char *who);
/* The pipe's write end, to become the writer's fds 1 and 2 (close-on-exec
 * here; posix_spawn's dup2 clears that on the copies). */
int child_output_fd(const child_output_t *c);
/* Closes the write end here, once the writer has its own copy: the pipe
 * then ends when the writer does. */
void child_output_close_writer(child_output_t *c);
/* For when the writer has exited or is being killed: what it wrote so far
 * is shown now, its partial line too, so that it comes before the lines
 * about its end (within the budgets, reading no more than a turn's worth).
 * Then c keeps showing what still comes until the pipe ends, and frees
 * itself; child_console_free closes it if it has not. c is not to be used
 * after this call. */
void child_output_release(child_output_t *c);
/* Shows what is still in the pipe, then closes it. c may be NULL. */
void child_output_close(child_output_t *c);

#endif
