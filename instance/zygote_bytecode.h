/* The app's bytecode (python/google/appengine/runtime/bytecode.py),
 * written by a child of the zygote: compiling one source can take minutes
 * (CPython compiles a long f-string in quadratic time), and the zygote must
 * keep forking instances meanwhile. */
#ifndef GAELIC_ZYGOTE_BYTECODE_H
#define GAELIC_ZYGOTE_BYTECODE_H

#include <sys/types.h>

/* The writer's CPU budget for each run: at the zygote's start, and after each
 * change of the app with --automatic_restart (SIGXCPU ends it). */
#define BYTECODE_CPU_SECONDS 60

/* Forks the writer for app_dir, which dies with the zygote; the zygote
 * reaps it like any child. It may use memory_bytes of address space, as
 * an instance. Its pid, or -1 (errno) when it could not fork. Call
 * single-threaded, as for any fork of the zygote. */
pid_t bytecode_writer_start(const char *app_dir, unsigned long long memory_bytes);

#endif
