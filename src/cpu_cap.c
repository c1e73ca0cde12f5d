#include "cpu_cap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "write_file.h"

#define PERIOD_US 100000L
#define MIN_QUOTA_US 1000L
#define MAX_LEFTOVERS 256

struct cpu_cap {
    int v2;
    int host_mhz;
    char dir[PATH_MAX];
    char where[PATH_MAX + 32];
    pid_t leftovers[MAX_LEFTOVERS]; /* cgroups the kernel did not let go yet */
    int n_leftovers;
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

static int host_mhz(void)
{
    FILE *f = fopen("/proc/cpuinfo", "re");
    char line[256];
    double mhz = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "cpu MHz", 7) && sscanf(strchr(line, ':') + 1, "%lf", &mhz) == 1)
            break;
    if (f)
        fclose(f);
    if (mhz <= 0 && (f = fopen("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", "re"))) {
        long khz = 0;
        if (fscanf(f, "%ld", &khz) == 1)
            mhz = khz / 1000.0;
        fclose(f);
    }
    return (int)(mhz + 0.5);
}

/* Our cgroup's path in the v1 cpu hierarchy or the v2 one, from
 * /proc/self/cgroup ("ID:CONTROLLERS:PATH"). */
static int own_path(int v2, char *out, size_t n)
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
        if (v2 ? !strcmp(line, "0") && c1[1] == '\0' : list_has(c1 + 1, "cpu"))
            found = snprintf(out, n, "%s", c2 + 1) < (int)n;
    }
    if (f)
        fclose(f);
    return found ? 0 : -1;
}

/* Where that hierarchy is mounted, joined with our path in it (from
 * /proc/self/mountinfo: ... ROOT MOUNTPOINT ... - FSTYPE SOURCE OPTIONS). */
static int cgroup_dir(int v2, char *out, size_t n)
{
    char path[PATH_MAX];
    if (own_path(v2, path, sizeof path) < 0)
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
        if (v2 ? strcmp(fstype, "cgroup2") : strcmp(fstype, "cgroup") || !list_has(opts, "cpu"))
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

static int set_limit(const cpu_cap_t *c, const char *dir, int mhz)
{
    long quota = PERIOD_US * mhz / c->host_mhz;
    if (quota < MIN_QUOTA_US)
        quota = MIN_QUOTA_US;
    char text[64];
    if (c->v2) {
        snprintf(text, sizeof text, "%ld %ld", quota, PERIOD_US);
        return write_in(dir, "cpu.max", text);
    }
    snprintf(text, sizeof text, "%ld", PERIOD_US);
    if (write_in(dir, "cpu.cfs_period_us", text) < 0)
        return -1;
    snprintf(text, sizeof text, "%ld", quota);
    return write_in(dir, "cpu.cfs_quota_us", text);
}

/* Our own cgroup under base, where child cgroups may limit the CPU. */
static int setup(cpu_cap_t *c, const char *base, char *why, size_t n)
{
    if (snprintf(c->dir, sizeof c->dir, "%s/gaelic-%d", base, (int)getpid()) >=
        (int)sizeof c->dir) {
        snprintf(why, n, "the cgroup path is too long");
        return -1;
    }
    if (c->v2 && !file_has_word(base, "cgroup.controllers", "cpu")) {
        snprintf(why, n, "the cpu controller is not available in %.300s", base);
        return -1;
    }
    if (c->v2 && !file_has_word(base, "cgroup.subtree_control", "cpu") &&
        write_in(base, "cgroup.subtree_control", "+cpu") < 0) {
        snprintf(why, n, "cannot enable the cpu controller in %.300s: %s", base, strerror(errno));
        return -1;
    }
    if (mkdir(c->dir, 0755) < 0 && errno != EEXIST) {
        snprintf(why, n, "cannot create %.300s: %s", c->dir, strerror(errno));
        return -1;
    }
    if (c->v2 && write_in(c->dir, "cgroup.subtree_control", "+cpu") < 0) {
        snprintf(why, n, "cannot enable the cpu controller in %.300s: %s", c->dir, strerror(errno));
        rmdir(c->dir);
        return -1;
    }
    /* A child with a limit, as instances will get. */
    char probe[PATH_MAX + 8];
    snprintf(probe, sizeof probe, "%s/probe", c->dir);
    int ok = mkdir(probe, 0755) == 0 || errno == EEXIST;
    ok = ok && set_limit(c, probe, c->host_mhz / 2 + 1) == 0;
    int saved = errno;
    rmdir(probe);
    if (!ok) {
        snprintf(why, n, "cannot limit the CPU of a cgroup under %.300s: %s", c->dir,
                 strerror(saved));
        rmdir(c->dir);
        return -1;
    }
    snprintf(c->where, sizeof c->where, "cgroup v%d cpu at %s", c->v2 ? 2 : 1, c->dir);
    return 0;
}

cpu_cap_t *cpu_cap_open(char *why, size_t n)
{
    cpu_cap_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(why, n, "out of memory");
        return NULL;
    }
    c->host_mhz = host_mhz();
    if (c->host_mhz <= 0) {
        snprintf(why, n, "cannot tell the host CPU's clock from /proc/cpuinfo");
        free(c);
        return NULL;
    }
    char reasons[2][512] = {"no cgroup2 hierarchy", "no cgroup v1 cpu hierarchy"};
    for (int v2 = 1; v2 >= 0; v2--) {
        char base[PATH_MAX];
        c->v2 = v2;
        if (cgroup_dir(v2, base, sizeof base) == 0 &&
            setup(c, base, reasons[!v2], sizeof reasons[!v2]) == 0)
            return c;
    }
    snprintf(why, n, "cgroup v2: %s; cgroup v1: %s", reasons[0], reasons[1]);
    free(c);
    return NULL;
}

const char *cpu_cap_where(const cpu_cap_t *c)
{
    return c->where;
}

int cpu_cap_host_mhz(const cpu_cap_t *c)
{
    return c->host_mhz;
}

static void child_dir(const cpu_cap_t *c, pid_t pid, char *out, size_t n)
{
    snprintf(out, n, "%s/pid-%d", c->dir, (int)pid);
}

int cpu_cap_add(cpu_cap_t *c, pid_t pid, int mhz)
{
    char dir[PATH_MAX + 32], text[32];
    child_dir(c, pid, dir, sizeof dir);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -1;
    snprintf(text, sizeof text, "%d", (int)pid);
    if (set_limit(c, dir, mhz) < 0 || write_in(dir, "cgroup.procs", text) < 0) {
        int saved = errno;
        rmdir(dir);
        errno = saved;
        return -1;
    }
    return 0;
}

/* 0 once the cgroup of pid is gone. */
static int remove_child(const cpu_cap_t *c, pid_t pid)
{
    char dir[PATH_MAX + 32];
    child_dir(c, pid, dir, sizeof dir);
    return rmdir(dir) == 0 || errno == ENOENT ? 0 : -1;
}

void cpu_cap_release(cpu_cap_t *c, pid_t pid)
{
    int kept = 0;
    for (int i = 0; i < c->n_leftovers; i++)
        if (remove_child(c, c->leftovers[i]) < 0)
            c->leftovers[kept++] = c->leftovers[i];
    c->n_leftovers = kept;
    if (remove_child(c, pid) < 0 && c->n_leftovers < MAX_LEFTOVERS)
        c->leftovers[c->n_leftovers++] = pid;
}

void cpu_cap_close(cpu_cap_t *c)
{
    if (!c)
        return;
    /* Instances are being killed: give the kernel a moment to empty them. */
    for (int tries = 0; tries < 50; tries++) {
        DIR *d = opendir(c->dir);
        struct dirent *e;
        int busy = 0;
        while (d && (e = readdir(d))) {
            int pid;
            if (sscanf(e->d_name, "pid-%d", &pid) == 1 && remove_child(c, pid) < 0)
                busy = 1;
        }
        if (d)
            closedir(d);
        if (!busy && (rmdir(c->dir) == 0 || errno == ENOENT))
            break;
        usleep(10000);
    }
    free(c);
}
