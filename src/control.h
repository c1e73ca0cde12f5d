/* The control socket of a running server: how `gaelic backends ...` (and
 * later the admin console) reaches it. A Unix socket CONTROL_SOCKET in the
 * storage folder, mode 0700, answering only its own user (or root).
 *
 * Protocol, one request per connection: the client sends its words
 * separated by tabs and ended by a newline; the server answers with text
 * lines and a last line "ok" or "error<TAB>message", then closes. */
#ifndef GAELIC_CONTROL_H
#define GAELIC_CONTROL_H

#include <stddef.h>
#include <stdio.h>

#include "buf.h"
#include "loop.h"

#define CONTROL_SOCKET "control.sock"
#define CONTROL_MAX_WORDS 16

/* Runs one command: appends its output lines to out. Returns 0, or -1 with
 * a one-line reason in err. */
typedef int (*control_fn)(void *ctx, int argc, char **argv, buf_t *out, char *err, size_t errlen);

typedef struct control control_t;

/* Listens on DIR/CONTROL_SOCKET (replacing a stale one). NULL with a reason
 * in err. */
control_t *control_open(loop_t *loop, const char *dir, control_fn fn, void *ctx, char *err,
                        size_t errlen);
void control_close(control_t *c);

/* Client side: sends argv to the server whose storage folder is dir and
 * copies its output lines to out. Returns 0 when it answered ok, 1 for an
 * error or a socket of another user's (printed to err_out), 2 when no
 * server listens there (printed). A word with a tab or a newline, which
 * the protocol would take for the end of the word or of the request, is
 * not sent: returns 2 and prints "gaelic ARGV0: invalid NAME 'WORD' (...)",
 * NAME being names[i] (NULL names, or a NULL names[i]: "word"). */
int control_call(const char *dir, int argc, char **argv, const char *const *names, FILE *out,
                 FILE *err_out);

#endif
