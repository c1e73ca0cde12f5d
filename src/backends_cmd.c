#include "backends_cmd.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "app_identity.h"
#include "cli_args.h"
#include "config.h"
#include "control.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
    fputs("usage: gaelic backends APPDIR VERB [BACKEND] [options]\n"
          "\n"
          "Controls the backends (backends.yaml) of the app in APPDIR on its running\n"
          "gaelic serve. Verbs:\n"
          "  list               each backend: class, instances running/configured, state,\n"
          "                     options, uptime, instance-hours and cost so far\n"
          "  start BACKEND      state START: resident instances start now, dynamic ones\n"
          "                     with the first request\n"
          "  stop BACKEND       state STOP: instances shut down, requests get 404\n"
          "  configure BACKEND  apply instances, public and failfast from backends.yaml\n"
          "                     without restarting instances\n"
          "  delete BACKEND     its requests go to the default version\n"
          "States, deletions and configure survive server restarts.\n"
          "\n"
          "options (--name VALUE or --name=VALUE, before or after the verb):\n"
          "  --storage_path DIR   the storage folder the server was started with\n"
          "  --application ID     the app id the server was started with\n"
          "  -h, --help           show this help\n"
          "\n"
          "exit status: 0 done, 1 the server refused (message on stderr), 2 usage error or\n"
          "no server running.\n",
          f);
}

int backends_main(int argc, char **argv)
{
    const char *words[3] = {NULL, NULL, NULL}; /* APPDIR VERB BACKEND */
    int n_words = 0;
    const char *storage = NULL, *application = NULL;
    cli_arg_t arg;
    cli_kind_t kind;
    for (int i = 1; (kind = cli_next(argc, argv, &i, "backends", NULL, &arg)) != CLI_END;) {
        if (kind == CLI_ERROR)
            return EXIT_USAGE;
        if (kind == CLI_HELP) {
            usage(stdout);
            return 0;
        }
        if (kind == CLI_POSITIONAL) {
            if (n_words == 3) {
                fprintf(stderr, "gaelic backends: unexpected argument '%s'\n", arg.value);
                return EXIT_USAGE;
            }
            words[n_words++] = arg.value;
        } else if (cli_is(&arg, "storage_path")) {
            storage = arg.value;
        } else if (cli_is(&arg, "application")) {
            application = arg.value;
        } else {
            fprintf(stderr,
                    "gaelic backends: unknown option '--%.*s' (see gaelic backends --help)\n",
                    (int)arg.name_len, arg.name);
            return EXIT_USAGE;
        }
    }
    if (n_words < 2) {
        fprintf(stderr, "gaelic backends: missing %s\n", n_words ? "VERB" : "APPDIR and VERB");
        usage(stderr);
        return EXIT_USAGE;
    }
    int needs_name = strcmp(words[1], "list") != 0;
    if (needs_name != (n_words == 3)) {
        fprintf(stderr,
                needs_name ? "gaelic backends: %s needs a BACKEND name\n"
                           : "gaelic backends: %s takes no BACKEND name\n",
                words[1]);
        return EXIT_USAGE;
    }
    char err[1024], app_id[128], dir[PATH_MAX];
    app_config_t *cfg;
    if (config_load(words[0], &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "gaelic: %s\n", err);
        return EXIT_USAGE;
    }
    app_identity_id(cfg, application, app_id, sizeof app_id);
    config_free(cfg);
    if (app_identity_storage(app_id, storage, dir, sizeof dir) < 0) {
        fprintf(stderr, "gaelic backends: the storage path is too long\n");
        return EXIT_USAGE;
    }
    char *req[3] = {"backends", (char *)words[1], (char *)words[2]};
    return control_call(dir, n_words, req, stdout, stderr);
}
