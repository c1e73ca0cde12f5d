#include "instance_stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proc_file.h"

#define MB (1024.0 * 1024.0)

void inst_stats_init(inst_stats_t *s)
{
    memset(s, 0, sizeof *s);
}

const stats_sample_t *inst_stats_last(const inst_stats_t *s)
{
    if (!s->count)
        return NULL;
    return &s->ring[(s->next + STATS_RING - 1) % STATS_RING];
}

int inst_stats_due(const inst_stats_t *s, uint64_t now_ms)
{
    const stats_sample_t *last = inst_stats_last(s);
    return !last || now_ms - last->t_ms >= STATS_INTERVAL_MS;
}

void inst_stats_add(inst_stats_t *s, uint64_t now_ms, uint64_t cpu_ns, uint64_t rss_bytes)
{
    s->ring[s->next] = (stats_sample_t){now_ms, cpu_ns, rss_bytes};
    s->next = (s->next + 1) % STATS_RING;
    if (s->count < STATS_RING)
        s->count++;
}

/* Sample k, 0 being the oldest held. */
static const stats_sample_t *sample(const inst_stats_t *s, unsigned k)
{
    return &s->ring[(s->next + STATS_RING - s->count + k) % STATS_RING];
}

/* Megacycles per second between the start of the window and now: from the
 * newest sample at or before now - window_ms, or from the oldest sample
 * while the instance is younger than the window. The wall time counts as
 * one sampling interval at least: over a few ms a capped instance may
 * still burn a whole CPU (the cap is a quota per 100 ms period), which
 * read as several times its class clock. */
static double cpu_rate(const inst_stats_t *s, uint64_t now_ms, uint64_t cpu_ns, int mhz,
                       uint64_t window_ms)
{
    if (!s->count)
        return 0;
    const stats_sample_t *from = sample(s, 0);
    for (unsigned k = s->count; k-- > 0;) {
        const stats_sample_t *x = sample(s, k);
        if (x->t_ms + window_ms <= now_ms) {
            from = x;
            break;
        }
    }
    if (now_ms <= from->t_ms || cpu_ns < from->cpu_ns)
        return 0;
    double cpu_s = (double)(cpu_ns - from->cpu_ns) / 1e9;
    uint64_t wall_ms = now_ms - from->t_ms;
    if (wall_ms < STATS_INTERVAL_MS)
        wall_ms = STATS_INTERVAL_MS;
    return cpu_s * mhz / ((double)wall_ms / 1e3);
}

/* The mean of the samples newer than now - window_ms and the live value. */
static double rss_average(const inst_stats_t *s, uint64_t now_ms, uint64_t rss, uint64_t window_ms)
{
    double sum = (double)rss;
    unsigned n = 1;
    for (unsigned k = s->count; k-- > 0;) {
        const stats_sample_t *x = sample(s, k);
        if (x->t_ms + window_ms <= now_ms)
            break;
        sum += (double)x->rss;
        n++;
    }
    return sum / n / MB;
}

void inst_stats_figures(const inst_stats_t *s, uint64_t now_ms, uint64_t cpu_ns, uint64_t rss_bytes,
                        int mhz, inst_figures_t *out)
{
    out->total = (double)cpu_ns / 1e9 * mhz;
    out->rate1m = cpu_rate(s, now_ms, cpu_ns, mhz, 60000);
    out->rate10m = cpu_rate(s, now_ms, cpu_ns, mhz, 600000);
    out->current = (double)rss_bytes / MB;
    out->average1m = rss_average(s, now_ms, rss_bytes, 60000);
    out->average10m = rss_average(s, now_ms, rss_bytes, 600000);
}

/* The process CPU clock counts every thread of the process, the ones that
 * have exited included, in nanoseconds. */
static int read_cpu(pid_t pid, uint64_t *cpu_ns)
{
    clockid_t clk;
    int err = clock_getcpuclockid(pid, &clk);
    if (err) {
        errno = err;
        return -1;
    }
    struct timespec ts;
    if (clock_gettime(clk, &ts) < 0)
        return -1;
    *cpu_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return 0;
}

static int read_rss(pid_t pid, uint64_t *rss_bytes)
{
    char text[128];
    ssize_t n = proc_read(pid, "statm", text, sizeof text);
    if (n <= 0) {
        if (n == 0)
            errno = ESRCH;
        return -1;
    }
    unsigned long size_pages, rss_pages;
    if (sscanf(text, "%lu %lu", &size_pages, &rss_pages) != 2) {
        errno = EINVAL;
        return -1;
    }
    *rss_bytes = (uint64_t)rss_pages * (uint64_t)sysconf(_SC_PAGESIZE);
    return 0;
}

int inst_stats_read(pid_t pid, uint64_t *cpu_ns, uint64_t *rss_bytes)
{
    return read_cpu(pid, cpu_ns) < 0 || read_rss(pid, rss_bytes) < 0 ? -1 : 0;
}
