#include "zygote_args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipc.h"

static int usage(void)
{
    fputs("usage: gaelic-instance --app DIR --python DIR --threads N --fd FD\n"
          "       [--library-modules a,b,c] [--skip-files REGEX]\n"
          "       [--sandbox strict|dev|off] [--memory BYTES]\n"
          "       [--audit-hook on|off] [--cpu-mhz N] [--max-response BYTES]\n"
          "       [--max-response-headers BYTES] [--import-path DIRS]\n"
          "       [--linked PATH]...\n"
          "(internal: started by gaelic serve)\n",
          stderr);
    return 2;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_size(const char *s, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v == 0)
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, zygote_args_t *a)
{
    const char *app = NULL, *python = NULL, *threads = NULL, *fd = NULL;
    const char *mode = "strict", *memory = NULL, *audit = "on", *mhz = "600";
    const char *max_body = NULL, *max_head = NULL;
    const char *linked[SANDBOX_LINKED_MAX];
    size_t n_linked = 0;
    a->library_modules = "";
    a->skip_files = "";
    a->static_only_files = "";
    a->import_path = "";
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc)
            return usage();
        if (!strcmp(argv[i], "--app"))
            app = argv[i + 1];
        else if (!strcmp(argv[i], "--python"))
            python = argv[i + 1];
        else if (!strcmp(argv[i], "--threads"))
            threads = argv[i + 1];
        else if (!strcmp(argv[i], "--fd"))
            fd = argv[i + 1];
        else if (!strcmp(argv[i], "--library-modules"))
            a->library_modules = argv[i + 1];
        else if (!strcmp(argv[i], "--skip-files"))
            a->skip_files = argv[i + 1];
        else if (!strcmp(argv[i], "--static-only-files"))
            a->static_only_files = argv[i + 1];
        else if (!strcmp(argv[i], "--import-path"))
            a->import_path = argv[i + 1];
        else if (!strcmp(argv[i], "--sandbox"))
            mode = argv[i + 1];
        else if (!strcmp(argv[i], "--memory"))
            memory = argv[i + 1];
        else if (!strcmp(argv[i], "--audit-hook"))
            audit = argv[i + 1];
        else if (!strcmp(argv[i], "--cpu-mhz"))
            mhz = argv[i + 1];
        else if (!strcmp(argv[i], "--max-response"))
            max_body = argv[i + 1];
        else if (!strcmp(argv[i], "--max-response-headers"))
            max_head = argv[i + 1];
        else if (!strcmp(argv[i], "--linked") && n_linked < SANDBOX_LINKED_MAX)
            linked[n_linked++] = argv[i + 1];
        else
            return usage();
    }
    if (!app || !python || !threads || !fd)
        return usage();
    if (parse_int(threads, 1, IPC_MAX_INSTANCE_THREADS, &a->threads) < 0) {
        fprintf(stderr, "gaelic zygote: --threads must be 1..%d, not '%s'\n",
                IPC_MAX_INSTANCE_THREADS, threads);
        return 2;
    }
    if (sandbox_mode_parse(mode, &a->sandbox.mode) < 0 ||
        (strcmp(audit, "on") && strcmp(audit, "off"))) {
        fprintf(stderr, "gaelic zygote: bad --sandbox '%s' or --audit-hook '%s'\n", mode, audit);
        return 2;
    }
    a->sandbox.audit_hook = !strcmp(audit, "on");
    a->sandbox.memory_bytes = SANDBOX_DEFAULT_MEMORY;
    if (memory && parse_size(memory, &a->sandbox.memory_bytes) < 0) {
        fprintf(stderr, "gaelic zygote: bad --memory '%s'\n", memory);
        return 2;
    }
    if (parse_int(mhz, 1, 1000000, &a->cpu_mhz) < 0) {
        fprintf(stderr, "gaelic zygote: bad --cpu-mhz '%s'\n", mhz);
        return 2;
    }
    a->max_response = IPC_DEFAULT_MAX_RESPONSE_BODY;
    a->max_response_headers = IPC_DEFAULT_MAX_RESPONSE_HEAD;
    if ((max_body && parse_size(max_body, &a->max_response) < 0) ||
        (max_head && parse_size(max_head, &a->max_response_headers) < 0)) {
        fprintf(stderr, "gaelic zygote: bad --max-response '%s' or --max-response-headers '%s'\n",
                max_body ? max_body : "", max_head ? max_head : "");
        return 2;
    }
    if (parse_int(fd, 0, INT_MAX, &a->sock) < 0) {
        fprintf(stderr, "gaelic zygote: bad --fd '%s'\n", fd);
        return 2;
    }
    /* Absolute paths: they go on sys.path and must not depend on the cwd. */
    if (!realpath(app, a->app_dir)) {
        fprintf(stderr, "gaelic zygote: --app %s: %s\n", app, strerror(errno));
        return 2;
    }
    if (!realpath(python, a->python_dir)) {
        fprintf(stderr, "gaelic zygote: --python %s: %s\n", python, strerror(errno));
        return 2;
    }
    a->sandbox.app_dir = a->app_dir;
    a->sandbox.python_dir = a->python_dir;
    /* The master gives real paths; they must still be absolute ones. */
    for (size_t i = 0; i < n_linked; i++) {
        if (linked[i][0] != '/') {
            fprintf(stderr, "gaelic zygote: --linked %s: not an absolute path\n", linked[i]);
            return 2;
        }
        a->sandbox.linked[i] = linked[i];
    }
    a->sandbox.linked[n_linked] = NULL;
    return 0;
}

static int check_socket(int fd)
{
    int type;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
        fprintf(stderr, "gaelic zygote: --fd %d: %s\n", fd, strerror(errno));
        return -1;
    }
    if (type != SOCK_SEQPACKET) {
        fprintf(stderr, "gaelic zygote: --fd %d is not a SOCK_SEQPACKET socket\n", fd);
        return -1;
    }
    return 0;
}

int zygote_parse_args(int argc, char **argv, zygote_args_t *a)
{
    int rc = parse_args(argc, argv, a);
    if (rc == 0 && check_socket(a->sock) < 0)
        rc = 2;
    return rc;
}
