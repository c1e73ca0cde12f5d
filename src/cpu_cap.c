#include "cpu_cap.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup_tree.h"

#define PERIOD_US 100000L
#define MIN_QUOTA_US 1000L

struct cpu_cap {
    cgroup_tree_t *tree;
    int host_mhz;
    char where[PATH_MAX + 32];
};

/* A cpufreq value (kHz) of cpu0 under root, in MHz; 0 when not there. */
static double cpufreq_mhz(const char *root, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/sys/devices/system/cpu/cpu0/cpufreq/%s", root, name);
    FILE *f = fopen(path, "re");
    long khz = 0;
    if (f) {
        if (fscanf(f, "%ld", &khz) != 1)
            khz = 0;
        fclose(f);
    }
    return khz > 0 ? khz / 1000.0 : 0;
}

int cpu_cap_clock_mhz(const char *root)
{
    /* The nominal clock, else the highest: /proc/cpuinfo's "cpu MHz" is
     * the clock a core runs at this moment where the kernel scales it,
     * 400-800 MHz on an idle host, which would let an F1 instance run
     * most of a CPU and count its megacycles far too low. */
    double mhz = cpufreq_mhz(root, "base_frequency");
    if (mhz <= 0)
        mhz = cpufreq_mhz(root, "cpuinfo_max_freq");
    if (mhz <= 0) {
        char path[PATH_MAX], line[256];
        snprintf(path, sizeof path, "%s/proc/cpuinfo", root);
        FILE *f = fopen(path, "re");
        while (f && fgets(line, sizeof line, f))
            if (!strncmp(line, "cpu MHz", 7) && strchr(line, ':') &&
                sscanf(strchr(line, ':') + 1, "%lf", &mhz) == 1)
                break;
        if (f)
            fclose(f);
    }
    return mhz > 0 ? (int)(mhz + 0.5) : 0;
}

/* Limits the child cgroup (created if needed) to mhz worth of CPU time. */
static int set_limit(const cpu_cap_t *c, const char *child, int mhz)
{
    long quota = PERIOD_US * mhz / c->host_mhz;
    if (quota < MIN_QUOTA_US)
        quota = MIN_QUOTA_US;
    char text[64];
    if (cgroup_tree_version(c->tree) == 2) {
        snprintf(text, sizeof text, "%ld %ld", quota, PERIOD_US);
        return cgroup_tree_set(c->tree, child, "cpu.max", text);
    }
    snprintf(text, sizeof text, "%ld", PERIOD_US);
    if (cgroup_tree_set(c->tree, child, "cpu.cfs_period_us", text) < 0)
        return -1;
    snprintf(text, sizeof text, "%ld", quota);
    return cgroup_tree_set(c->tree, child, "cpu.cfs_quota_us", text);
}

cpu_cap_t *cpu_cap_open(char *why, size_t n)
{
    cpu_cap_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(why, n, "out of memory");
        return NULL;
    }
    c->host_mhz = cpu_cap_clock_mhz("");
    if (c->host_mhz <= 0) {
        snprintf(why, n, "cannot tell the host CPU's clock (cpufreq, /proc/cpuinfo)");
        free(c);
        return NULL;
    }
    if (!(c->tree = cgroup_tree_open("cpu", why, n))) {
        free(c);
        return NULL;
    }
    /* A child with a limit, as instances will get. */
    int ok = set_limit(c, "probe", c->host_mhz / 2 + 1) == 0;
    int saved = errno;
    cgroup_tree_remove(c->tree, "probe");
    if (!ok) {
        snprintf(why, n, "cannot limit the CPU of a cgroup under %.300s: %s",
                 cgroup_tree_dir(c->tree), strerror(saved));
        cgroup_tree_close(c->tree);
        free(c);
        return NULL;
    }
    snprintf(c->where, sizeof c->where, "cgroup v%d cpu at %s", cgroup_tree_version(c->tree),
             cgroup_tree_dir(c->tree));
    return c;
}

const char *cpu_cap_where(const cpu_cap_t *c)
{
    return c->where;
}

int cpu_cap_host_mhz(const cpu_cap_t *c)
{
    return c->host_mhz;
}

int cpu_cap_add(cpu_cap_t *c, pid_t pid, int mhz)
{
    char child[CGROUP_CHILD_MAX];
    cgroup_child(child, "pid", pid);
    if (set_limit(c, child, mhz) < 0 || cgroup_tree_move(c->tree, child, pid) < 0) {
        int saved = errno;
        cgroup_tree_remove(c->tree, child);
        errno = saved;
        return -1;
    }
    return 0;
}

void cpu_cap_release(cpu_cap_t *c, pid_t pid)
{
    char child[CGROUP_CHILD_MAX];
    cgroup_child(child, "pid", pid);
    cgroup_tree_remove(c->tree, child);
}

int cpu_cap_retry_removals(cpu_cap_t *c)
{
    return cgroup_tree_retry_removals(c->tree);
}

void cpu_cap_close(cpu_cap_t *c)
{
    if (!c)
        return;
    cgroup_tree_close(c->tree);
    free(c);
}
