/* The zygote's command line: `gaelic-instance --app DIR --python DIR
 * --threads N --fd FD [--library-modules a,b,c] [--skip-files REGEX]
 * [--sandbox strict|dev|off]
 * [--memory BYTES] [--audit-hook on|off] [--cpu-mhz N] [--max-response BYTES]
 * [--max-response-headers BYTES] [--import-path DIRS] [--linked PATH]...`
 * (DIRS: folders of the app to put before it on sys.path, one a line; at most
 * SANDBOX_LINKED_MAX: what the app's links outside it lead to). */
#ifndef GAELIC_ZYGOTE_ARGS_H
#define GAELIC_ZYGOTE_ARGS_H

#include <limits.h>

#include "sandbox.h"

typedef struct {
    char app_dir[PATH_MAX];                  /* absolute (realpath) */
    char python_dir[PATH_MAX];               /* absolute (realpath) */
    int threads;                             /* worker threads per instance, 1..1024 */
    int cpu_mhz;                             /* the instance class's clock (RT12) */
    int sock;                                /* the SOCK_SEQPACKET socket to the master */
    unsigned long long max_response;         /* body bytes (RT10) */
    unsigned long long max_response_headers; /* status line + headers (ipc.h) */
    const char *library_modules;             /* "a,b,c" from dist-packages, or "" */
    const char *skip_files;                  /* app.yaml's skip_files regex, or "" */
    const char *static_only_files; /* static handlers' files the app may not read, or "" */
    const char *import_path;       /* folders before the app on sys.path, one a line, or "" */
    sandbox_conf_t sandbox;        /* its app_dir and python_dir point above */
} zygote_args_t;

/* Parses and checks argv (the directories exist, the fd is a
 * SOCK_SEQPACKET socket). Returns 0, or an exit status (2) after printing
 * why. */
int zygote_parse_args(int argc, char **argv, zygote_args_t *a);

#endif
