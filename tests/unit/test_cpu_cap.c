/* The host clock the CPU cap and megacycles count with (cpu_cap.c), read
 * from fake /proc and /sys trees. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpu_cap.h"
#include "unit.h"

static char root[] = "/tmp/gaelic-cpu-cap-XXXXXX";

static void put(const char *rel, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

static void drop(const char *rel)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    unlink(path);
}

/* The fake tree's folders, each after its parent. */
static const char *const dirs[] = {"proc",
                                   "sys",
                                   "sys/devices",
                                   "sys/devices/system",
                                   "sys/devices/system/cpu",
                                   "sys/devices/system/cpu/cpu0",
                                   "sys/devices/system/cpu/cpu0/cpufreq"};
#define N_DIRS (sizeof dirs / sizeof *dirs)

/* Makes (or, in reverse, removes) folder i of the tree. */
static int tree_dir(size_t i, int make)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", root, dirs[i]);
    return make ? mkdir(path, 0700) : rmdir(path);
}

#define CPUFREQ "sys/devices/system/cpu/cpu0/cpufreq/"

int main(void)
{
    CHECK(mkdtemp(root) != NULL);
    for (size_t i = 0; i < N_DIRS; i++)
        CHECK(tree_dir(i, 1) == 0);
    /* Nothing to tell it by. */
    CHECK(cpu_cap_clock_mhz(root) == 0);
    /* A VM without cpufreq: /proc/cpuinfo's clock. */
    put("proc/cpuinfo", "processor\t: 0\nmodel name\t: Some CPU\ncpu MHz\t\t: 2596.004\n"
                        "processor\t: 1\ncpu MHz\t\t: 2596.004\n");
    CHECK(cpu_cap_clock_mhz(root) == 2596);
    /* A scaled host, idle at 800 MHz: its highest clock, not this moment's. */
    put("proc/cpuinfo", "processor\t: 0\ncpu MHz\t\t: 800.000\n");
    put(CPUFREQ "cpuinfo_max_freq", "3600000\n");
    CHECK(cpu_cap_clock_mhz(root) == 3600);
    /* Its nominal clock where the driver says it (intel_pstate). */
    put(CPUFREQ "base_frequency", "2600000\n");
    CHECK(cpu_cap_clock_mhz(root) == 2600);
    /* Unreadable values are passed over. */
    put(CPUFREQ "base_frequency", "unknown\n");
    CHECK(cpu_cap_clock_mhz(root) == 3600);
    put(CPUFREQ "cpuinfo_max_freq", "0\n");
    CHECK(cpu_cap_clock_mhz(root) == 800);
    put("proc/cpuinfo", "processor\t: 0\ncpu MHz\n");
    CHECK(cpu_cap_clock_mhz(root) == 0);

    drop(CPUFREQ "base_frequency");
    drop(CPUFREQ "cpuinfo_max_freq");
    drop("proc/cpuinfo");
    for (size_t i = N_DIRS; i-- > 0;)
        CHECK(tree_dir(i, 0) == 0);
    CHECK(rmdir(root) == 0);
    UNIT_DONE();
}
