/* gaelic command line: serve, logs, backends. (Instances run in their own
 * binary, gaelic-instance: instance/zygote.c.) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backends_cmd.h"
#include "http.h"
#include "logs_cmd.h"

int serve_main(int argc, char **argv);

static void usage(FILE *f)
{
    fputs("usage: gaelic <command> [options]\n"
          "\n"
          "commands:\n"
          "  serve APPDIR    serve the App Engine app in APPDIR (see gaelic serve --help)\n"
          "  logs APPDIR [OUTPUT_FILE]\n"
          "                  print its request and app logs, or download them into\n"
          "                  OUTPUT_FILE as appcfg.py request_logs did (see gaelic logs --help)\n"
          "  backends APPDIR VERB [BACKEND [INSTANCE]]\n"
          "                  list, start, stop, update, rollback, configure or delete the\n"
          "                  backends of the running server, or shut one instance down\n"
          "                  (see gaelic backends --help)\n"
          "\n"
          "options:\n"
          "  -h, --help      show this help\n"
          "  --version       show gaelic's version\n",
          f);
}

/* Started with stdin, stdout or stderr closed (`2>&-`), the next file we
 * open would take that number: console lines would land in the log
 * database or a socket, and the instances would inherit it as their fd 2. */
static void open_standard_fds(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        int null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (null >= 0 && null != fd) /* lower numbers are open by now */
            close(null);
    }
}

int main(int argc, char **argv)
{
    open_standard_fds();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    /* `gaelic help COMMAND` is `gaelic COMMAND --help`. */
    char help_flag[] = "--help";
    char *help_argv[] = {argv[0], argc > 2 ? argv[2] : NULL, help_flag, NULL};
    if (!strcmp(cmd, "help") && argc == 3 && strcmp(argv[2], "help") != 0) {
        argc = 3;
        argv = help_argv;
        cmd = argv[1];
    }
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("gaelic %s (apps see SERVER_SOFTWARE %s)\n", GAELIC_VERSION, GAELIC_SERVER_SOFTWARE);
        return 0;
    }
    if (!strcmp(cmd, "serve"))
        return serve_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "backends"))
        return backends_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "logs"))
        return logs_main(argc - 1, argv + 1);
    fprintf(stderr, "gaelic: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
