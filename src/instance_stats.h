/* Runtime statistics of one instance process (API1, API2, API6, RT12),
 * measured by the master: the process's CPU time (all its threads, from the
 * kernel's process CPU clock) and its resident memory (/proc/PID/statm),
 * sampled about once a second into a ring that holds the last ten minutes.
 *
 * Figures: CPU in megacycles = CPU seconds x the instance's clock in MHz
 * (total since the process started; rate1m/rate10m = megacycles per second
 * over the last 1 and 10 minutes, or over the instance's life while it is
 * younger); memory in MB (MiB) = resident bytes / 2^20 (current, and the
 * averages of the samples of the last 1 and 10 minutes).
 *
 * The ring is pure data: the caller reads the kernel (inst_stats_read) and
 * passes the values in, so the windows can be tested with made-up samples. */
#ifndef GAELIC_INSTANCE_STATS_H
#define GAELIC_INSTANCE_STATS_H

#include <stdint.h>
#include <sys/types.h>

#define STATS_INTERVAL_MS 1000u
/* Ten minutes of samples, plus the one that starts the ten-minute span. */
#define STATS_RING 601u

typedef struct {
    uint64_t t_ms;
    uint64_t cpu_ns;
    uint64_t rss;
} stats_sample_t;

typedef struct {
    stats_sample_t ring[STATS_RING];
    unsigned next;  /* where the next sample goes */
    unsigned count; /* samples held, up to STATS_RING */
} inst_stats_t;

typedef struct {
    double total, rate1m, rate10m;         /* megacycles, megacycles per second */
    double current, average1m, average10m; /* MB */
} inst_figures_t;

void inst_stats_init(inst_stats_t *s);
/* 1 when a new sample is due at now_ms. */
int inst_stats_due(const inst_stats_t *s, uint64_t now_ms);
void inst_stats_add(inst_stats_t *s, uint64_t now_ms, uint64_t cpu_ns, uint64_t rss_bytes);
/* The newest sample, or NULL before the first. */
const stats_sample_t *inst_stats_last(const inst_stats_t *s);
/* Figures as of now_ms, with the live values cpu_ns and rss_bytes read
 * then (they count as the newest point of every window). */
void inst_stats_figures(const inst_stats_t *s, uint64_t now_ms, uint64_t cpu_ns, uint64_t rss_bytes,
                        int mhz, inst_figures_t *out);

/* Reads process pid's CPU time and resident bytes from the kernel.
 * Returns 0, or -1 with errno set (the process is gone). */
int inst_stats_read(pid_t pid, uint64_t *cpu_ns, uint64_t *rss_bytes);

/* Megacycles for CPU time at a clock of mhz (RT12, and the request log).
 * Whole seconds and the rest apart: cpu_us * mhz would overflow 64 bits
 * for IPC_MAX_CPU_US (ipc.h) at a clock of 4.1 GHz. */
static inline int64_t mcycles_from_us(uint64_t cpu_us, int mhz)
{
    return (int64_t)(cpu_us / 1000000u * (uint64_t)mhz +
                     cpu_us % 1000000u * (uint64_t)mhz / 1000000u);
}

#endif
