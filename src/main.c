/* gaelic command line: serve, logs, backends. (Instances run in their own
 * binary, gaelic-instance: instance/zygote.c.) */
#include <stdio.h>
#include <string.h>

#include "backends_cmd.h"
#include "logs_cmd.h"

int serve_main(int argc, char **argv);

static void usage(FILE *f)
{
    fputs("usage: gaelic <command> [options]\n"
          "\n"
          "commands:\n"
          "  serve APPDIR    serve the App Engine app in APPDIR (see gaelic serve --help)\n"
          "  logs APPDIR     print its request and app logs (see gaelic logs --help)\n"
          "  backends APPDIR VERB [BACKEND]\n"
          "                  list, start, stop, update, rollback, configure or delete the\n"
          "                  backends of the running server (see gaelic backends --help)\n"
          "\n"
          "options:\n"
          "  -h, --help      show this help\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
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
