/* The statistics windows (src/instance_stats.c) with made-up samples, and
 * one live reading of this very process. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "instance_stats.h"
#include "ipc.h"
#include "unit.h"

#define MB (1024.0 * 1024.0)
#define SEC 1000000000ull

static int near(double got, double want)
{
    return fabs(got - want) <= 1e-6 * (fabs(want) + 1);
}

static void test_empty(void)
{
    inst_stats_t *s = malloc(sizeof *s);
    inst_stats_init(s);
    CHECK(inst_stats_last(s) == NULL);
    CHECK(inst_stats_due(s, 0));
    inst_figures_t f;
    inst_stats_figures(s, 5000, 2 * SEC, 64 << 20, 600, &f);
    CHECK(near(f.total, 1200));
    CHECK(f.rate1m == 0 && f.rate10m == 0);
    CHECK(near(f.current, 64) && near(f.average1m, 64) && near(f.average10m, 64));
    free(s);
}

/* A young instance: rates over its life so far (from the first sample). */
static void test_young(void)
{
    inst_stats_t *s = malloc(sizeof *s);
    inst_stats_init(s);
    inst_stats_add(s, 1000, 0, 10 << 20);
    CHECK(!inst_stats_due(s, 1999) && inst_stats_due(s, 2000));
    inst_stats_add(s, 2000, SEC / 2, 20 << 20);
    inst_stats_add(s, 3000, SEC, 30 << 20);
    inst_figures_t f;
    /* 1.5 CPU seconds over 3 wall seconds at 1200 MHz: 600 Mcycles/s. */
    inst_stats_figures(s, 4000, 3 * SEC / 2, 40 << 20, 1200, &f);
    CHECK(near(f.total, 1800));
    CHECK(near(f.rate1m, 600) && near(f.rate10m, 600));
    CHECK(near(f.current, 40));
    CHECK(near(f.average1m, 25) && near(f.average10m, 25));
    free(s);
}

/* A first request 7 ms after the first sample, which burned 6 ms of CPU
 * before its cap's period ran out: the rate counts at least a second of
 * wall time (6 Mcycles at 1000 MHz), not 7 ms (860 Mcycles/s, more than
 * the class clock the cap holds it to). */
static void test_very_young(void)
{
    inst_stats_t *s = malloc(sizeof *s);
    inst_stats_init(s);
    inst_stats_add(s, 1000, 0, 10 << 20);
    inst_figures_t f;
    inst_stats_figures(s, 1007, 6 * SEC / 1000, 10 << 20, 1000, &f);
    CHECK(near(f.rate1m, 6) && near(f.rate10m, 6));
    free(s);
}

/* Twelve minutes of samples: busy (half a CPU) for the first ten minutes,
 * idle for the last two. */
static void test_windows(void)
{
    inst_stats_t *s = malloc(sizeof *s);
    inst_stats_init(s);
    uint64_t cpu = 0;
    for (unsigned t = 0; t <= 720; t++) {
        uint64_t rss = t < 660 ? 100ull << 20 : 200ull << 20;
        inst_stats_add(s, t * 1000ull, cpu, rss);
        if (t < 600)
            cpu += SEC / 2;
    }
    CHECK(s->count == STATS_RING);
    inst_figures_t f;
    inst_stats_figures(s, 720000, cpu, 200ull << 20, 600, &f);
    CHECK(near(f.total, 300.0 * 600));
    /* The last minute was idle. */
    CHECK(near(f.rate1m, 0));
    /* The last ten minutes: 480 busy seconds (240 CPU s) of 600. */
    CHECK(near(f.rate10m, 240.0 * 600 / 600));
    /* Memory: 200 MB for the last minute. The ten-minute window holds the
     * samples of seconds 121..720 (539 at 100 MB, 61 at 200 MB) and the
     * live value. */
    CHECK(near(f.average1m, 200));
    double avg10 = (539.0 * 100 + 61 * 200 + 200) / 601;
    CHECK(near(f.average10m, avg10));
    CHECK(near(inst_stats_last(s)->rss / MB, 200));
    free(s);
}

/* Samples that come late (the tick is 250 ms) still give true averages:
 * the window starts at the newest sample at or before now - 1 minute. */
static void test_uneven_samples(void)
{
    inst_stats_t *s = malloc(sizeof *s);
    inst_stats_init(s);
    for (unsigned t = 0; t < 200; t++)
        inst_stats_add(s, t * 1250ull, t * 1250ull * 1000000ull / 4, 0);
    inst_figures_t f;
    uint64_t now = 199 * 1250ull;
    inst_stats_figures(s, now, now * 1000000ull / 4, 0, 1000, &f);
    CHECK(near(f.rate1m, 250) && near(f.rate10m, 250));
    free(s);
}

static void test_read_self(void)
{
    uint64_t cpu = 0, rss = 0;
    volatile double x = 0;
    for (int i = 0; i < 2000000; i++)
        x += i * 0.5;
    CHECK(inst_stats_read(getpid(), &cpu, &rss) == 0);
    CHECK(cpu > 0);
    CHECK(rss > 1 << 20);
    CHECK(inst_stats_read(0x7ffffff0, &cpu, &rss) == -1);
    CHECK(mcycles_from_us(1000000, 600) == 600);
    CHECK(mcycles_from_us(2500000, 2400) == 6000);
}

/* A backend request or background thread past 2^32 us (71.6 minutes)
 * keeps counting, and the largest CPU time the channel carries does not
 * overflow at any host clock. */
static void test_mcycles_of_long_runs(void)
{
    CHECK(mcycles_from_us(5000000007ull, 600) == 3000000);
    CHECK(mcycles_from_us(3ull * 3600 * 1000000 + 999999, 1200) == 3ull * 3600 * 1200 + 1199);
    CHECK(mcycles_from_us(IPC_MAX_CPU_US, 600) ==
          (int64_t)(IPC_MAX_CPU_US / 1000000 * 600 + IPC_MAX_CPU_US % 1000000 * 600 / 1000000));
    CHECK(mcycles_from_us(IPC_MAX_CPU_US, 10000) > 0);
}

int main(void)
{
    test_empty();
    test_young();
    test_very_young();
    test_windows();
    test_uneven_samples();
    test_read_self();
    test_mcycles_of_long_runs();
    UNIT_DONE();
}
