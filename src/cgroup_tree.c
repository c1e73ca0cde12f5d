#include "cgroup_tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc_start.h"
#include "write_file.h"

#define MAX_LEFTOVERS 256
#define NAME_MAX_LEN CGROUP_CHILD_MAX
#define MAX_OWN_SETTINGS 4

struct cgroup_tree {
    int v2;
    /* The server's cgroup was made by this tree; with cgroup v2 another
     * tree may share it (cgroup_tree.h), and only its maker removes it. */
    int created;
    char controller[NAME_MAX_LEN];
    char dir[PATH_MAX];
    /* children the kernel did not let go yet */
    char leftovers[MAX_LEFTOVERS][NAME_MAX_LEN];
    int n_leftovers;
    /* What was written in the server's own cgroup (the server-wide
     * pids.max), written again when make_child makes the cgroup again. */
    struct {
        char file[NAME_MAX_LEN];
        char value[32];
    } own[MAX_OWN_SETTINGS];
    int n_own;
};

/* Writes text to the file `name` in the cgroup folder dir. */
static int write_in(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return write_file(path, text);
}

/* 1 when the file holds `word` as one of its space-separated words. */
static int file_has_word(const char *dir, const char *name, const char *word)
{
    char path[PATH_MAX], text[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    for (char *save = NULL, *w = strtok_r(text, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
        if (!strcmp(w, word))
            return 1;
    return 0;
}

/* 1 when the comma-separated list holds item. */
static int list_has(const char *list, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && !strncmp(p, item, n))
            return 1;
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

/* Our cgroup's path in the v1 hierarchy of controller or in the v2 one,
 * from /proc/self/cgroup ("ID:CONTROLLERS:PATH"). */
static int own_path(int v2, const char *controller, char *out, size_t n)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    char line[PATH_MAX + 64];
    int found = 0;
    while (!found && f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = '\0';
        if (v2 ? !strcmp(line, "0") && c1[1] == '\0' : list_has(c1 + 1, controller))
            found = snprintf(out, n, "%s", c2 + 1) < (int)n;
    }
    if (f)
        fclose(f);
    return found ? 0 : -1;
}

/* Where that hierarchy is mounted, joined with our path in it (from
 * /proc/self/mountinfo: ... ROOT MOUNTPOINT ... - FSTYPE SOURCE OPTIONS). */
static int cgroup_dir(int v2, const char *controller, char *out, size_t n)
{
    char path[PATH_MAX];
    if (own_path(v2, controller, path, sizeof path) < 0)
        return -1;
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[2 * PATH_MAX];
    int found = 0;
    while (!found && f && fgets(line, sizeof line, f)) {
        char root[PATH_MAX], mnt[PATH_MAX], fstype[64], opts[512];
        char *sep = strstr(line, " - ");
        if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
            sscanf(sep + 3, "%63s %*s %511s", fstype, opts) != 2)
            continue;
        if (v2 ? strcmp(fstype, "cgroup2")
               : strcmp(fstype, "cgroup") || !list_has(opts, controller))
            continue;
        size_t rl = strcmp(root, "/") ? strlen(root) : 0;
        if (strncmp(path, root, rl) || (path[rl] != '/' && path[rl] != '\0'))
            continue;
        found = snprintf(out, n, "%s%s", mnt, path + rl) < (int)n;
        /* "/" inside the hierarchy: no trailing slash. */
        size_t len = strlen(out);
        if (found && len > 1 && out[len - 1] == '/')
            out[len - 1] = '\0';
    }
    if (f)
        fclose(f);
    return found ? 0 : -1;
}

/* Removes the child cgroups of dir (only one level is ever made); one
 * that still holds a process stays. 1 when some stayed. */
static int remove_children(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int busy = 0;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' && e->d_type == DT_DIR &&
            unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
            busy = 1;
    if (d)
        closedir(d);
    return busy;
}

/* Removes the empty subtree at dir. A cgroup that still holds a process
 * stays. */
static void remove_empty(const char *dir)
{
    remove_children(dir);
    rmdir(dir);
}

/* The inode of this process's pid namespace: what a server's cgroup name
 * ends in, since a pid only means something in its own namespace. */
static int pid_namespace(unsigned long long *out)
{
    struct stat st;
    if (stat("/proc/self/ns/pid", &st) < 0)
        return -1;
    *out = (unsigned long long)st.st_ino;
    return 0;
}

/* Reads the decimal after name's '-' at *p (no sign, no leading zero) into
 * *value and moves *p past it. 0, or -1 when there is none. */
static int dash_number(const char **p, unsigned long long *value)
{
    const char *digits = *p + 1;
    if (**p != '-' || *digits < '0' || *digits > '9')
        return -1;
    char *end;
    errno = 0;
    *value = strtoull(digits, &end, 10);
    if (errno || (digits[0] == '0' && end != digits + 1))
        return -1;
    *p = end;
    return 0;
}

int cgroup_server_gone(const char *name)
{
    if (strncmp(name, "gaelic-", 7) != 0 || name[7] < '1' || name[7] > '9')
        return 0;
    char *end;
    errno = 0;
    unsigned long long pid_value = strtoull(name + 7, &end, 10), start = 0;
    if (errno || pid_value > INT_MAX)
        return 0;
    pid_t pid = (pid_t)pid_value;
    /* "gaelic-PID" is from a server before start times were recorded: by
     * its pid only. */
    const char *p = end;
    int has_start = *p == '-';
    if (has_start && dash_number(&p, &start) < 0)
        return 0;
    /* "gaelic-PID-START-NS": a server in another pid namespace (a
     * container) is judged only there: here its pid names another process,
     * or none, though it runs. Names without NS (older servers) are judged
     * here. */
    unsigned long long ns, own_ns;
    if (has_start && *p == '-' &&
        (dash_number(&p, &ns) < 0 || *p != '\0' || pid_namespace(&own_ns) < 0 || ns != own_ns))
        return 0;
    if (*p != '\0')
        return 0; /* not a name a server makes */
    if (kill(pid, 0) < 0 && errno == ESRCH)
        return 1;
    /* A process by that pid: the server's own unless it started at another
     * time. One /proc does not show (hidepid) is taken to be the server. */
    unsigned long long now;
    return has_start && proc_start_time(pid, &now) == 0 && now != start;
}

/* The cgroups of servers that were killed (SIGKILL leaves no time to
 * clean up) would pile up under base: those whose server is gone go. */
static void sweep_stale(const char *base)
{
    DIR *d = opendir(base);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!cgroup_server_gone(e->d_name))
            continue;
        char path[PATH_MAX + 256];
        snprintf(path, sizeof path, "%s/%s", base, e->d_name);
        remove_empty(path);
    }
    if (d)
        closedir(d);
}

/* Our own cgroup under base, with the controller enabled for children. */
static int setup(cgroup_tree_t *t, const char *base, char *why, size_t n)
{
    const char *ctl = t->controller;
    char enable[NAME_MAX_LEN + 1];
    snprintf(enable, sizeof enable, "+%s", ctl);
    unsigned long long start;
    if (proc_start_time(getpid(), &start) < 0) {
        snprintf(why, n, "cannot read this server's start time: %s", strerror(errno));
        return -1;
    }
    unsigned long long ns;
    int len = pid_namespace(&ns) < 0
                  ? snprintf(t->dir, sizeof t->dir, "%s/gaelic-%d-%llu", base, (int)getpid(), start)
                  : snprintf(t->dir, sizeof t->dir, "%s/gaelic-%d-%llu-%llu", base, (int)getpid(),
                             start, ns);
    if (len >= (int)sizeof t->dir) {
        snprintf(why, n, "the cgroup path is too long");
        return -1;
    }
    if (t->v2 && !file_has_word(base, "cgroup.controllers", ctl)) {
        snprintf(why, n, "the %s controller is not available in %.300s", ctl, base);
        return -1;
    }
    if (t->v2 && !file_has_word(base, "cgroup.subtree_control", ctl) &&
        write_in(base, "cgroup.subtree_control", enable) < 0) {
        snprintf(why, n, "cannot enable the %s controller in %.300s: %s", ctl, base,
                 strerror(errno));
        return -1;
    }
    sweep_stale(base);
    t->created = mkdir(t->dir, 0755) == 0;
    if (!t->created && errno != EEXIST) {
        snprintf(why, n, "cannot create %.300s: %s", t->dir, strerror(errno));
        return -1;
    }
    if (t->v2 && write_in(t->dir, "cgroup.subtree_control", enable) < 0) {
        snprintf(why, n, "cannot enable the %s controller in %.300s: %s", ctl, t->dir,
                 strerror(errno));
        if (t->created)
            rmdir(t->dir);
        return -1;
    }
    return 0;
}

cgroup_tree_t *cgroup_tree_open(const char *controller, char *why, size_t n)
{
    cgroup_tree_t *t = calloc(1, sizeof *t);
    if (!t || strlen(controller) >= sizeof t->controller) {
        snprintf(why, n, "out of memory");
        free(t);
        return NULL;
    }
    snprintf(t->controller, sizeof t->controller, "%s", controller);
    char reasons[2][512];
    snprintf(reasons[0], sizeof reasons[0], "no cgroup2 hierarchy");
    snprintf(reasons[1], sizeof reasons[1], "no cgroup v1 %s hierarchy", controller);
    for (int v2 = 1; v2 >= 0; v2--) {
        char base[PATH_MAX];
        t->v2 = v2;
        if (cgroup_dir(v2, controller, base, sizeof base) == 0 &&
            setup(t, base, reasons[!v2], sizeof reasons[!v2]) == 0)
            return t;
    }
    snprintf(why, n, "cgroup v2: %s; cgroup v1: %s", reasons[0], reasons[1]);
    free(t);
    return NULL;
}

int cgroup_tree_version(const cgroup_tree_t *t)
{
    return t->v2 ? 2 : 1;
}

const char *cgroup_tree_dir(const cgroup_tree_t *t)
{
    return t->dir;
}

static int child_dir(const cgroup_tree_t *t, const char *child, char *out, size_t n)
{
    if (snprintf(out, n, "%s/%s", t->dir, child) >= (int)n) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* Makes the child cgroup folder dir: 1 when made, 0 when it was there, -1
 * with errno set. The server's own cgroup is made again when it is gone:
 * a server in another pid namespace sharing this hierarchy cannot see our
 * pid, takes the cgroup for a dead server's and sweeps it (sweep_stale)
 * whenever it is empty, as between one instance's exit and the next's
 * start. Without this, every later instance would run uncapped; the
 * server-wide values (set_own) go in again with it. */
static int make_child(cgroup_tree_t *t, const char *dir)
{
    if (mkdir(dir, 0755) == 0)
        return 1;
    if (errno == EEXIST)
        return 0;
    if (errno != ENOENT)
        return -1;
    if (mkdir(t->dir, 0755) == 0)
        t->created = 1;
    else if (errno != EEXIST)
        return -1;
    if (t->v2) {
        char enable[NAME_MAX_LEN + 1];
        snprintf(enable, sizeof enable, "+%s", t->controller);
        if (write_in(t->dir, "cgroup.subtree_control", enable) < 0)
            return -1;
    }
    for (int i = 0; i < t->n_own; i++)
        if (write_in(t->dir, t->own[i].file, t->own[i].value) < 0)
            return -1;
    if (mkdir(dir, 0755) == 0)
        return 1;
    return errno == EEXIST ? 0 : -1;
}

/* Writes value to file in the server's own cgroup and keeps it for
 * make_child. */
static int set_own(cgroup_tree_t *t, const char *file, const char *value)
{
    int i = 0;
    while (i < t->n_own && strcmp(t->own[i].file, file) != 0)
        i++;
    if (strlen(file) >= sizeof t->own[0].file || strlen(value) >= sizeof t->own[0].value ||
        i == MAX_OWN_SETTINGS) {
        errno = ENOSPC;
        return -1;
    }
    if (write_in(t->dir, file, value) < 0)
        return -1;
    snprintf(t->own[i].file, sizeof t->own[i].file, "%s", file);
    snprintf(t->own[i].value, sizeof t->own[i].value, "%s", value);
    if (i == t->n_own)
        t->n_own++;
    return 0;
}

int cgroup_tree_set(cgroup_tree_t *t, const char *child, const char *file, const char *value)
{
    if (!child)
        return set_own(t, file, value);
    char dir[PATH_MAX + NAME_MAX_LEN];
    if (child_dir(t, child, dir, sizeof dir) < 0)
        return -1;
    if (make_child(t, dir) < 0)
        return -1;
    return write_in(dir, file, value);
}

int cgroup_tree_move(cgroup_tree_t *t, const char *child, pid_t pid)
{
    char text[32];
    snprintf(text, sizeof text, "%d", (int)pid);
    char dir[PATH_MAX + NAME_MAX_LEN];
    if (child_dir(t, child, dir, sizeof dir) < 0)
        return -1;
    int made = make_child(t, dir);
    if (made < 0)
        return -1;
    if (write_in(dir, "cgroup.procs", text) < 0) {
        int saved = errno;
        if (made)
            rmdir(dir);
        errno = saved;
        return -1;
    }
    return 0;
}

/* 0 once the child is gone. */
static int remove_child(const cgroup_tree_t *t, const char *child)
{
    char dir[PATH_MAX + NAME_MAX_LEN];
    if (child_dir(t, child, dir, sizeof dir) < 0)
        return 0;
    return rmdir(dir) == 0 || errno == ENOENT ? 0 : -1;
}

int cgroup_tree_retry_removals(cgroup_tree_t *t)
{
    int kept = 0;
    for (int i = 0; i < t->n_leftovers; i++)
        if (remove_child(t, t->leftovers[i]) < 0)
            memcpy(t->leftovers[kept++], t->leftovers[i], NAME_MAX_LEN);
    return t->n_leftovers = kept;
}

void cgroup_tree_remove(cgroup_tree_t *t, const char *child)
{
    cgroup_tree_retry_removals(t);
    if (remove_child(t, child) < 0 && t->n_leftovers < MAX_LEFTOVERS &&
        strlen(child) < NAME_MAX_LEN)
        snprintf(t->leftovers[t->n_leftovers++], NAME_MAX_LEN, "%s", child);
}

void cgroup_tree_close(cgroup_tree_t *t)
{
    if (!t)
        return;
    /* Processes are being killed: give the kernel a moment to empty them. */
    for (int tries = 0; tries < 50; tries++) {
        if (!remove_children(t->dir) && (!t->created || rmdir(t->dir) == 0 || errno == ENOENT))
            break;
        usleep(10000);
    }
    free(t);
}
