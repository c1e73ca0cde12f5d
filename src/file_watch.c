#include "file_watch.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "python_regex.h"

/* What changes a file's content, its presence or its metadata (touch). */
#define WATCH_MASK                                                                                 \
    (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM |              \
     IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)
/* Deeper folders are left out: a bound on the walk, not a limit apps meet. */
#define MAX_DEPTH 64

/* A watched folder, in an open-addressing table by wd (an app may have
 * tens of thousands of folders: a node_modules). */
typedef struct {
    int wd;    /* FREE_SLOT, GONE_SLOT, or the watch */
    char *rel; /* "" for the root */
} folder_t;
#define FREE_SLOT 0 /* inotify's wds start at 1 */
#define GONE_SLOT (-1)

struct file_watch {
    loop_t *loop;
    file_watch_opts_t o;
    char root[PATH_MAX];
    char **ignored; /* relative to the root */
    size_t n_ignored;
    char **config_paths; /* o.config's copy */
    size_t n_config_paths;
    pcre2_code *ignore_re; /* o.ignore_re compiled, or NULL */
    pcre2_match_data *md;
    io_watch_t w;
    loop_timer_t settle;
    folder_t *slots;
    size_t cap;       /* a power of two, or 0 */
    size_t n_folders; /* watched */
    size_t n_used;    /* slots not FREE_SLOT */
    int told_limit;
    /* The burst being gathered. */
    unsigned long count;
    uint64_t burst_ms;
    char first[PATH_MAX];
    char last[PATH_MAX];
    char config[PATH_MAX];
};

static size_t slot_of(int wd, size_t cap)
{
    return ((uint32_t)wd * 2654435761u) & (cap - 1);
}

static folder_t *folder_of(file_watch_t *fw, int wd)
{
    for (size_t i = fw->cap ? slot_of(wd, fw->cap) : 0; fw->cap; i = (i + 1) & (fw->cap - 1)) {
        if (fw->slots[i].wd == wd)
            return &fw->slots[i];
        if (fw->slots[i].wd == FREE_SLOT)
            return NULL;
    }
    return NULL;
}

/* Where wd goes in slots: the first slot free or gone from its own on. */
static folder_t *free_slot(folder_t *slots, size_t cap, int wd)
{
    size_t i = slot_of(wd, cap);
    while (slots[i].wd > 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Adds a folder (wd not in the table); rel is taken. -1 when out of memory. */
static int add_folder(file_watch_t *fw, int wd, char *rel)
{
    if ((fw->n_used + 1) * 4 > fw->cap * 3) {
        size_t cap = 64;
        while (cap < (fw->n_folders + 1) * 4)
            cap *= 2;
        folder_t *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < fw->cap; i++)
            if (fw->slots[i].wd > 0)
                *free_slot(slots, cap, fw->slots[i].wd) = fw->slots[i];
        free(fw->slots);
        fw->slots = slots;
        fw->cap = cap;
        fw->n_used = fw->n_folders;
    }
    folder_t *slot = free_slot(fw->slots, fw->cap, wd);
    fw->n_used += slot->wd == FREE_SLOT;
    *slot = (folder_t){wd, rel};
    fw->n_folders++;
    return 0;
}

static void drop_folder(file_watch_t *fw, folder_t *f)
{
    free(f->rel);
    *f = (folder_t){GONE_SLOT, NULL};
    fw->n_folders--;
}

static void forget_folder(file_watch_t *fw, int wd)
{
    folder_t *f = folder_of(fw, wd);
    if (f)
        drop_folder(fw, f);
}

/* rel equals one of the ignored folders or lies under one. */
static int is_ignored(const file_watch_t *fw, const char *rel)
{
    for (size_t i = 0; i < fw->n_ignored; i++) {
        size_t n = strlen(fw->ignored[i]);
        if (strncmp(rel, fw->ignored[i], n) == 0 && (rel[n] == '\0' || rel[n] == '/'))
            return 1;
    }
    return 0;
}

/* The zygote writes the app's bytecode (runtime/bytecode.py): no source
 * of the app changes there. */
static int in_pycache(const char *rel)
{
    return !strncmp(rel, "__pycache__", 11) ? rel[11] == '\0' || rel[11] == '/'
                                            : strstr(rel, "/__pycache__") != NULL;
}

/* Whether a change at rel is none of the app's, or to be ignored:
 * skip_files (a folder tested as "rel/", as the app's files were counted:
 * ^tests/.* leaves the folder out), --watcher_ignore_re, the ignored
 * paths, bytecode. */
static int left_out(const file_watch_t *fw, const char *rel, int is_dir)
{
    if (is_ignored(fw, rel) || in_pycache(rel))
        return 1;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s%s", rel, is_dir ? "/" : "") >= (int)sizeof path)
        return 1;
    return config_is_skipped(fw->o.cfg, path) ||
           (fw->ignore_re &&
            pcre2_match(fw->ignore_re, (PCRE2_SPTR)path, strlen(path), 0, 0, fw->md, NULL) >= 0);
}

/* Stops watching the folder rel and those under it ("": all): moved out
 * of the app, or to a name skip_files excludes; moved within, they are
 * watched anew under their new paths. */
static void unwatch_tree(file_watch_t *fw, const char *rel)
{
    size_t n = strlen(rel);
    for (size_t i = 0; i < fw->cap; i++) {
        const char *f = fw->slots[i].rel;
        if (fw->slots[i].wd > 0 &&
            (!n || (strncmp(f, rel, n) == 0 && (f[n] == '\0' || f[n] == '/')))) {
            inotify_rm_watch(fw->w.fd, fw->slots[i].wd);
            drop_folder(fw, &fw->slots[i]);
        }
    }
}

static int is_config(const file_watch_t *fw, const char *rel)
{
    for (size_t i = 0; i < fw->n_config_paths; i++)
        if (strcmp(rel, fw->config_paths[i]) == 0)
            return 1;
    return 0;
}

/* Watches the folder rel and, below it, those skip_files leaves. */
static void watch_tree(file_watch_t *fw, const char *rel, int depth)
{
    char path[PATH_MAX];
    if (depth > MAX_DEPTH ||
        snprintf(path, sizeof path, "%s%s%s", fw->root, *rel ? "/" : "", rel) >= (int)sizeof path)
        return;
    int wd = inotify_add_watch(fw->w.fd, path, WATCH_MASK);
    if (wd < 0) {
        if (errno == ENOSPC && !fw->told_limit) {
            fw->told_limit = 1;
            log_warn("--automatic_restart: the kernel allows no more inotify watches (%zu "
                     "folders watched; see /proc/sys/fs/inotify/max_user_watches): changes in "
                     "'%s' and further folders go unnoticed",
                     fw->n_folders, rel);
        }
        return;
    }
    folder_t *known = folder_of(fw, wd);
    if (known && strcmp(known->rel, rel) != 0) {
        /* The same folder under another path: moved (its old path gone),
         * or reachable by two (a bind mount), which keeps the first and is
         * not walked twice. */
        char old[PATH_MAX];
        struct stat now_st, old_st;
        if (snprintf(old, sizeof old, "%s%s%s", fw->root, *known->rel ? "/" : "", known->rel) <
                (int)sizeof old &&
            stat(path, &now_st) == 0 && stat(old, &old_st) == 0 && now_st.st_dev == old_st.st_dev &&
            now_st.st_ino == old_st.st_ino)
            return;
        char *copy = strdup(rel);
        if (copy) {
            free(known->rel);
            known->rel = copy;
        }
    } else if (!known) {
        char *copy = strdup(rel);
        if (!copy || add_folder(fw, wd, copy) < 0) {
            free(copy);
            inotify_rm_watch(fw->w.fd, wd);
            return;
        }
    }
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        int is_dir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN) {
            struct stat st;
            is_dir =
                fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
        }
        char child[PATH_MAX];
        if (!is_dir || snprintf(child, sizeof child, "%s%s%s", rel, *rel ? "/" : "", e->d_name) >=
                           (int)sizeof child)
            continue;
        if (!left_out(fw, child, 1))
            watch_tree(fw, child, depth + 1);
    }
    closedir(d);
}

static void report(loop_t *loop, loop_timer_t *t)
{
    (void)loop;
    file_watch_t *fw = (file_watch_t *)((char *)t - offsetof(file_watch_t, settle));
    unsigned long count = fw->count;
    fw->count = 0;
    if (count)
        fw->o.changed(fw->o.ctx, fw->first, count, fw->config[0] ? fw->config : NULL);
}

/* A change to rel; a file's several events in a row (a write, then its
 * close) count once. */
static void note_change(file_watch_t *fw, const char *rel)
{
    if (fw->count == 0) {
        fw->burst_ms = fw->loop->now_ms;
        snprintf(fw->first, sizeof fw->first, "%s", rel);
        fw->config[0] = '\0';
    }
    if (fw->count == 0 || strcmp(rel, fw->last) != 0) {
        fw->count++;
        snprintf(fw->last, sizeof fw->last, "%s", rel);
    }
    if (!fw->config[0] && is_config(fw, rel))
        snprintf(fw->config, sizeof fw->config, "%s", rel);
    uint64_t waited = fw->loop->now_ms - fw->burst_ms;
    uint64_t settle = FILE_WATCH_SETTLE_MS;
    if (waited + settle > FILE_WATCH_MAX_WAIT_MS)
        settle = waited < FILE_WATCH_MAX_WAIT_MS ? FILE_WATCH_MAX_WAIT_MS - waited : 0;
    loop_timer_start(fw->loop, &fw->settle, settle);
}

/* A changed source's bytecode (DIR/__pycache__/NAME.*.pyc, written by the
 * zygote) goes: CPython checks it by the source's mtime in whole seconds
 * and its size, so an edit within the second it was written that keeps
 * the size (WORD = 'one' -> 'two') would have new instances load the old
 * code. They compile the source instead. */
static void forget_bytecode(const file_watch_t *fw, const char *rel)
{
    size_t n = strlen(rel);
    if (n < 4 || strcmp(rel + n - 3, ".py") != 0)
        return;
    const char *slash = strrchr(rel, '/');
    const char *name = slash ? slash + 1 : rel;
    char cache[PATH_MAX];
    if (snprintf(cache, sizeof cache, "%s/%.*s%s__pycache__", fw->root,
                 slash ? (int)(slash - rel) : 0, rel, slash ? "/" : "") >= (int)sizeof cache)
        return;
    int fd = open(cache, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    size_t stem = strlen(name) - 3; /* NAME. */
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > stem + 5 && strncmp(e->d_name, name, stem + 1) == 0 &&
            strcmp(e->d_name + len - 4, ".pyc") == 0)
            unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

static void on_event(file_watch_t *fw, const struct inotify_event *ev)
{
    if (ev->mask & IN_Q_OVERFLOW) {
        /* Folders made, moved or removed meanwhile went unseen: every
         * watch goes, and the walk starts over. */
        unwatch_tree(fw, "");
        watch_tree(fw, "", 0);
        note_change(fw, "(more changes than the kernel queued)");
        return;
    }
    if (ev->mask & IN_IGNORED) { /* the folder is gone, or unmounted */
        folder_t *gone = folder_of(fw, ev->wd);
        if (gone && !*gone->rel)
            log_warn("--automatic_restart: the app folder %s is gone; its changes go unnoticed "
                     "from now on",
                     fw->root);
        forget_folder(fw, ev->wd);
        return;
    }
    folder_t *f = folder_of(fw, ev->wd);
    if (!f || ev->len == 0) /* an event on the folder itself: its entry's told */
        return;
    char rel[PATH_MAX];
    if (snprintf(rel, sizeof rel, "%s%s%s", f->rel, *f->rel ? "/" : "", ev->name) >=
        (int)sizeof rel)
        return;
    if (is_config(fw, rel)) {
        note_change(fw, rel);
        return;
    }
    int is_dir = (ev->mask & IN_ISDIR) != 0;
    if (is_dir && (ev->mask & IN_MOVED_FROM))
        unwatch_tree(fw, rel);
    if (left_out(fw, rel, is_dir))
        return;
    if (is_dir && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
        watch_tree(fw, rel, 1);
    else if (!is_dir)
        forget_bytecode(fw, rel);
    note_change(fw, rel);
}

static void on_readable(loop_t *loop, io_watch_t *w, uint32_t events)
{
    (void)loop;
    (void)events;
    file_watch_t *fw = (file_watch_t *)((char *)w - offsetof(file_watch_t, w));
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(w->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* EAGAIN: drained (edge-triggered) */
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            on_event(fw, ev);
            p += sizeof *ev + ev->len;
        }
    }
}

static pcre2_code *compile_regex(const char *re, char *err, size_t errlen)
{
    char msg[160];
    size_t off;
    pcre2_code *c = python_regex_compile(re, 0, NULL, msg, sizeof msg, &off);
    if (!c && off == SIZE_MAX)
        snprintf(err, errlen, "%s", msg);
    else if (!c)
        snprintf(err, errlen, "invalid regular expression '%s': %s at offset %zu", re, msg, off);
    return c;
}

int file_watch_regex_ok(const char *re, char *err, size_t errlen)
{
    pcre2_code *c = compile_regex(re, err, errlen);
    pcre2_code_free(c);
    return c ? 0 : -1;
}

static int copy_config(file_watch_t *fw, const char *const *config)
{
    size_t n = 0;
    while (config && config[n])
        n++;
    if (!(fw->config_paths = calloc(n + 1, sizeof *fw->config_paths)))
        return -1;
    for (; fw->n_config_paths < n; fw->n_config_paths++)
        if (!(fw->config_paths[fw->n_config_paths] = strdup(config[fw->n_config_paths])))
            return -1;
    return 0;
}

/* The ignored paths that lie in the app, relative to its root. */
static int set_ignored(file_watch_t *fw, const char *const *ignored)
{
    size_t n = 0;
    while (ignored && ignored[n])
        n++;
    fw->ignored = calloc(n + 1, sizeof *fw->ignored);
    if (!fw->ignored)
        return -1;
    size_t root_len = strlen(fw->root);
    for (size_t i = 0; i < n; i++) {
        /* Its folder resolved, its name kept: it need not exist yet (a
         * database's -wal file). */
        char dir[PATH_MAX], real[PATH_MAX];
        char trimmed[PATH_MAX];
        snprintf(trimmed, sizeof trimmed, "%s", ignored[i]);
        for (size_t len = strlen(trimmed); len > 1 && trimmed[len - 1] == '/';)
            trimmed[--len] = '\0';
        const char *path = trimmed, *slash = strrchr(path, '/');
        const char *name = slash ? slash + 1 : path;
        if (!slash)
            snprintf(dir, sizeof dir, ".");
        else if (slash == path)
            snprintf(dir, sizeof dir, "/");
        else
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
        if (!*name || !realpath(dir, real) || strlen(real) + 1 + strlen(name) >= sizeof real)
            continue;
        strcat(strcat(real, "/"), name);
        if (strncmp(real, fw->root, root_len) != 0 || real[root_len] != '/')
            continue;
        if (!(fw->ignored[fw->n_ignored] = strdup(real + root_len + 1)))
            return -1;
        fw->n_ignored++;
    }
    return 0;
}

file_watch_t *file_watch_open(loop_t *loop, const file_watch_opts_t *o, char *err, size_t errlen)
{
    file_watch_t *fw = calloc(1, sizeof *fw);
    if (!fw) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    fw->loop = loop;
    fw->o = *o;
    fw->o.config = fw->o.ignored = NULL; /* copied: the caller's may go */
    fw->settle.cb = report;
    fw->w.cb = on_readable;
    fw->w.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fw->w.fd < 0 || !realpath(o->cfg->root, fw->root) || set_ignored(fw, o->ignored) < 0 ||
        copy_config(fw, o->config) < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        file_watch_close(fw);
        return NULL;
    }
    if (o->ignore_re && (!(fw->ignore_re = compile_regex(o->ignore_re, err, errlen)) ||
                         !(fw->md = pcre2_match_data_create_from_pattern(fw->ignore_re, NULL)))) {
        if (fw->ignore_re)
            snprintf(err, errlen, "out of memory");
        file_watch_close(fw);
        return NULL;
    }
    fw->o.ignore_re = NULL;
    watch_tree(fw, "", 0);
    if (loop_add(loop, &fw->w, EPOLLIN) < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        file_watch_close(fw);
        return NULL;
    }
    return fw;
}

size_t file_watch_folders(const file_watch_t *fw)
{
    return fw->n_folders;
}

void file_watch_close(file_watch_t *fw)
{
    if (!fw)
        return;
    loop_timer_stop(fw->loop, &fw->settle);
    if (fw->w.fd >= 0) {
        loop_del(fw->loop, &fw->w);
        close(fw->w.fd);
    }
    for (size_t i = 0; i < fw->cap; i++)
        free(fw->slots[i].rel);
    free(fw->slots);
    for (size_t i = 0; i < fw->n_ignored; i++)
        free(fw->ignored[i]);
    free(fw->ignored);
    for (size_t i = 0; i < fw->n_config_paths; i++)
        free(fw->config_paths[i]);
    free(fw->config_paths);
    pcre2_match_data_free(fw->md);
    pcre2_code_free(fw->ignore_re);
    free(fw);
}
