/* --automatic_restart: notices changes to the app's files, as
 * dev_appserver's file watcher did, so that instances can be restarted on
 * the new code. inotify on every folder under the app root that skip_files
 * does not exclude (new folders are watched as they appear; symlinked
 * folders are not followed). Changes to excluded paths (editors' swap and
 * backup files are, under the default skip_files), to the ignored
 * paths (the server's own storage, when it is in the app) and in
 * __pycache__ folders (where the zygote writes bytecode) are ignored;
 * the config files are reported whatever skip_files says (it excludes
 * app.yaml). A burst of changes (an editor's save, a git checkout) is
 * reported once, when no change has come for FILE_WATCH_SETTLE_MS, or
 * FILE_WATCH_MAX_WAIT_MS after its first. A changed .py file's bytecode
 * in __pycache__ is removed at once (forget_bytecode). */
#ifndef GAELIC_FILE_WATCH_H
#define GAELIC_FILE_WATCH_H

#include <stddef.h>

#include "config.h"
#include "loop.h"

#define FILE_WATCH_SETTLE_MS 100
#define FILE_WATCH_MAX_WAIT_MS 1000

typedef struct file_watch file_watch_t;

/* first: the burst's first changed path, relative to the app root; count:
 * how many paths it changed, one after another (at least 1); config: the first of the config
 * files it changed, or NULL. */
typedef void (*file_watch_fn)(void *ctx, const char *first, unsigned long count,
                              const char *config);

typedef struct {
    const app_config_t *cfg; /* root and skip_files; must outlive the watch */
    /* Both copied: NULL-terminated paths relative to the root, and files
     * or folders anywhere (those in the app count). */
    const char *const *config;
    const char *const *ignored;
    /* --watcher_ignore_re: a Python regex searched for in each changed
     * path relative to the root (a folder's with a trailing '/'); NULL:
     * none. */
    const char *ignore_re;
    file_watch_fn changed;
    void *ctx;
} file_watch_opts_t;

/* NULL with a message in err when inotify cannot be had. A folder that
 * cannot be watched (the kernel's max_user_watches reached) is logged and
 * left out. */
file_watch_t *file_watch_open(loop_t *loop, const file_watch_opts_t *o, char *err, size_t errlen);
/* Whether re compiles as ignore_re; 0, or -1 with the reason in err. */
int file_watch_regex_ok(const char *re, char *err, size_t errlen);
/* Folders watched. */
size_t file_watch_folders(const file_watch_t *fw);
void file_watch_close(file_watch_t *fw);

#endif
